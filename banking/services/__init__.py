"""Every write of the banking app (DESIGN.md §4 and §6 Banking).

Functions are keyword-only and run in one database transaction each; a broken rule raises a
``banking.errors`` domain error with a stable code. Money-moving and state-changing services lock
their rows through ``locks.py`` (registration first, then accounts in primary-key order), check
statuses and balances only after the locks are held, and are retried as a whole when PostgreSQL
picks them as a deadlock victim, so that error never reaches a caller.

Passwords and PINs are compared with Django's hashers and never logged, put in an event, an
exception message or an SMS.
"""

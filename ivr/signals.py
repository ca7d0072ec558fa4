"""Signals the IVR sends to the rest of the center.

``call_transferred_to_agent`` is sent after the transaction that ended the IVR part of a call
with a transfer to an agent queue commits, with ``call_id``, ``ani``, ``dnis``, ``queue``,
``verified``, ``customer_id``, ``account_id`` and ``path``. The calls app queues the call and
routes it; the IVR does not know about queues or agents.
"""

from django.dispatch import Signal

call_transferred_to_agent = Signal()

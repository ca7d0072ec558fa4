"""Signals the IVR sends to the rest of the center.

``call_transferred_to_agent`` is sent after the transaction that ended the IVR part of a call
with a transfer to an agent queue commits, with ``call_id``, ``ani``, ``dnis``, ``queue``,
``verified``, ``customer_id``, ``account_id``, ``path`` and ``is_test`` (a call of the IVR
simulator: routed like any other, marked as a test call, never counted in a KPI). The calls app queues the call and
routes it; the IVR does not know about queues or agents.
"""

from django.dispatch import Signal

call_transferred_to_agent = Signal()

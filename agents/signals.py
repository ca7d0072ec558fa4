"""Signals the agents app sends to the rest of the center, after the transaction commits.

``agent_changed`` (``user_id``, ``routable``): an agent's state or skills changed; ``routable``
when the change may let a waiting call ring them (ready, new skills). ``callbacks_changed``: a
callback was opened or closed. The calls app connects both (``calls/apps.py``): it pushes the
change to the screens and requests a routing pass; agents knows nothing of calls, routing or
websockets.
"""

from django.dispatch import Signal

agent_changed = Signal()
callbacks_changed = Signal()

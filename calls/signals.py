"""Signals of the calls app.

``routing_requested``: a waiting call or a free agent may now make an offer; sent after the
transaction that changed them committed (``calls.services.events.routing_request``). The router,
``calls.dispatch``, receives it (connected in ``calls/apps.py``): the writers never import the
router, which imports them.
"""

from django.dispatch import Signal

routing_requested = Signal()

# ``calls_changed``: calls were rebuilt (an event recorded, a desk action); sent after commit with
# ``queued``, the set of first-queue times the changed calls were and are counted under (test
# calls left out). The reports' rollups listen (``reports/apps.py``); calls knows nothing of them.
calls_changed = Signal()

"""Signals of the calls app.

``routing_requested``: a waiting call or a free agent may now make an offer; sent after the
transaction that changed them committed (``calls.services.events.routing_request``). The router,
``calls.dispatch``, receives it (connected in ``calls/apps.py``): the writers never import the
router, which imports them.
"""

from django.dispatch import Signal

routing_requested = Signal()

"""ASGI entry point: websockets (and, in the embedded default, HTTP too).

In full mode gunicorn serves plain HTTP and this server only ``/ws/``; sync views under
ASGI are several times slower on this hardware (DESIGN.md §3).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings.local")

# Django must be set up before consumers (and their models) are imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from contactcenter.routing import websocket_urlpatterns  # noqa: E402
from contactcenter.ws_auth import OriginCheckedUnlessToken, SessionOrTokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The origin check guards cookie logins only (contactcenter/ws_auth.py).
        "websocket": OriginCheckedUnlessToken(SessionOrTokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)

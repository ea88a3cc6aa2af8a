"""ASGI entry point: HTTP through Django (the REST API through ``portal.api.asgi``'s
one-hop handler), websockets through Channels (consumers are added by the apps that need
live updates)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from portal import memory  # noqa: E402
from portal.api.asgi import api_aware  # noqa: E402
from portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    # /api/ requests run in one worker-thread call (portal/api/asgi.py, D68); pages as Django runs them
    "http": api_aware(django_asgi_app),
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})

from messaging.services.dispatch import kick_in_background  # noqa: E402

kick_in_background()  # dispatch kicks on a thread of their own, not in the request (D86)
memory.freeze()  # the objects loaded so far live as long as the process (portal/memory.py)

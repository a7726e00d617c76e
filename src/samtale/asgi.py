from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samtale.settings")

from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from samtale.web.consumers import AgentConsumer  # noqa: E402
from samtale.web.static import StaticFiles  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": StaticFiles(django_asgi),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/agent/", AgentConsumer.as_asgi())]))
        ),
    }
)

from __future__ import annotations

import importlib
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samtale.settings")

from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from samtale.channels import channel_apps, has_module  # noqa: E402
from samtale.core.events import relay  # noqa: E402
from samtale.core.sockets import SameOriginValidator  # noqa: E402
from samtale.web.consumers import AgentConsumer  # noqa: E402
from samtale.web.static import StaticFiles  # noqa: E402

# Channel packages bring their own sockets (`<package>.sockets.websocket_urlpatterns`): public ones
# such as the chat widget's, which check the origin themselves against the channel's settings.
channel_sockets = [
    route
    for config in channel_apps()
    if has_module(config, "sockets")
    for route in importlib.import_module(f"{config.name}.sockets").websocket_urlpatterns
]

router = ProtocolTypeRouter(
    {
        "http": StaticFiles(django_asgi),
        "websocket": URLRouter(
            [
                path("ws/agent/", SameOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi()))),
                *channel_sockets,
            ]
        ),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    # events committed on this process's threads are published by its loop, without waiting
    relay.bind()
    await router(scope, receive, send)

"""The chat channel's WebSocket routes (mounted by `samtale.asgi`, outside the agent's
same-origin check: widgets run on customers' sites; each widget checks its own allowed origins)."""

from django.urls import path

from samtale.channels.chat.consumers import VisitorConsumer

websocket_urlpatterns = [path("ws/chat/<str:key>/", VisitorConsumer.as_asgi())]

"""Websocket routes; each app appends its consumers here as it gains live pages."""

websocket_urlpatterns: list = []

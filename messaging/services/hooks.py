"""The inbound hook: every MO message, after the opt-out / opt-in service, is handed to the
subscribers (conversations, chatbots) in the order they subscribed. A subscriber that
raises is logged and does not stop the others nor lose the message (it is stored first)."""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

_subscribers: list[Callable] = []


def subscribe_inbound(callback: Callable) -> Callable:
    """Register ``callback(message, optout_result)``; usable as a decorator. Idempotent."""
    if callback not in _subscribers:
        _subscribers.append(callback)
    return callback


def unsubscribe_inbound(callback: Callable) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def notify_inbound(message, optout_result) -> None:
    for callback in list(_subscribers):
        try:
            callback(message, optout_result)
        except Exception:  # noqa: BLE001 - one subscriber must not break the intake
            logger.exception("inbound subscriber %r failed for message %s", callback, message.pk)

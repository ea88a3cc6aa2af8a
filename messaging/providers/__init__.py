"""The provider registry: ``Gateway.provider`` → driver class (imported lazily).

Adding a provider = one module here with a ``Provider`` subclass, and one line below.
"""

from __future__ import annotations

import threading
from importlib import import_module

from messaging.providers.base import Provider

REGISTRY = {
    "simulator": "messaging.providers.simulator.SimulatorProvider",
    "smpp": "messaging.providers.smpp.SmppProvider",
    "http": "messaging.providers.http.HttpProvider",
    "smtp": "messaging.providers.smtp.SmtpProvider",
}

_drivers: dict[int, tuple[object, Provider]] = {}
_lock = threading.Lock()


def provider_class(key: str) -> type[Provider]:
    try:
        module, _, name = REGISTRY[key].rpartition(".")
    except KeyError:
        raise KeyError(f"unknown provider {key!r}; known: {', '.join(sorted(REGISTRY))}") from None
    return getattr(import_module(module), name)


def provider_choices() -> list[tuple[str, str]]:
    return [(key, provider_class(key).name or key) for key in REGISTRY]


def driver_for(gateway) -> Provider:
    """The driver of a gateway, kept per process (an SMPP bind stays open between batches);
    rebuilt when the gateway was edited."""
    version = gateway.updated_at
    with _lock:
        cached = _drivers.get(gateway.pk)
        if cached and cached[0] == version:
            return cached[1]
        if cached:
            cached[1].close()
        driver = provider_class(gateway.provider)(gateway)
        _drivers[gateway.pk] = (version, driver)
        return driver


def close_all() -> None:
    with _lock:
        for _version, driver in _drivers.values():
            driver.close()
        _drivers.clear()

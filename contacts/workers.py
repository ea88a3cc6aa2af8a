"""The start-up of the import's helper processes (``contacts.services.imports._pool``).

Kept out of ``contacts.services``: a helper started by *forkserver* (the parent has other
threads) is a fresh interpreter that unpickles its initializer by module name before Django
is set up, and importing ``contacts.services`` then would load models too early
(``AppRegistryNotReady``) — the pool failed to start and the import prepared its rows in
one process. This module imports nothing of Django's until ``setup`` runs.
"""


def setup() -> None:
    import django

    django.setup()


def ping() -> int:
    import os

    return os.getpid()

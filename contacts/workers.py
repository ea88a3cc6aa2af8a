"""The start-up of the import's helper processes (``contacts.services.imports._pool``).

Kept out of ``contacts.services``: a helper started by *forkserver* (the parent has other
threads) is a fresh interpreter that unpickles its initializer by module name before Django
is set up, and importing ``contacts.services`` then would load models too early
(``AppRegistryNotReady``) — the pool failed to start and the import prepared its rows in
one process. This module imports nothing of Django's until ``setup`` runs.

*forkserver* preload: the pool asks the fork server to import ``contacts.preload`` when it
starts (``set_forkserver_preload``), which sets Django up and loads the row preparation
there; each helper is then a plain fork of a ready interpreter (~0.05 s instead of ~0.9 s
for two helpers that each set Django up).
"""


def setup() -> None:
    import django

    django.setup()
    from portal import memory

    memory.freeze()  # what the helper holds from now on is its rows: no collection walks Django's objects


def ping() -> int:
    import os

    return os.getpid()


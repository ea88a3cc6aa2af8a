"""The Redis cache's connection pool, shared per process.

Django makes a cache backend instance per thread / async context (``caches`` is a
context-local), and its Redis backend a connection pool per instance. Under ASGI every
request runs its sync code in a new context, so each request that touched the cache made
a new pool and opened a new TCP connection to Redis (measured: ~13 % of a
``POST /api/v1/messages`` under load, in ``connect``). ``SharedConnectionPool`` is the
pool class Django is given (``CACHES["default"]["OPTIONS"]["pool_class"]``): the first
instance of a process makes the pool for its URL, the others reuse it. redis-py's pool is
thread-safe and starts afresh in a forked child.
"""

from __future__ import annotations

import threading

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _shared: dict[tuple, redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url, **kwargs):
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with cls._lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
        return pool

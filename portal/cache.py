"""The Redis cache's connection pool, shared per process, and a raw client on it.

Django makes a cache backend instance per thread / async context (``caches`` is a
context-local), and its Redis backend a connection pool per instance. Under ASGI every
request runs its sync code in a new context, so each request that touched the cache made
a new pool and opened a new TCP connection to Redis (measured: ~13 % of a
``POST /api/v1/messages`` under load, in ``connect``). ``SharedConnectionPool`` is the
pool class Django is given (``CACHES["default"]["OPTIONS"]["pool_class"]``): the first
instance of a process makes the pool for its URL, the others reuse it. redis-py's pool is
thread-safe and starts afresh in a forked child.

Django's backend also builds a new ``redis.Redis`` client for every call (~70 µs: it
fills a table of ~170 response callbacks) and checks every key for memcached; the hot
paths of an API request (the throttle, the dispatch kick) use :func:`redis_client`, one
client per pool, with the cache's own keys (``cache.make_key``).
"""

from __future__ import annotations

import threading
import weakref

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


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


_clients: weakref.WeakKeyDictionary[redis.ConnectionPool, redis.Redis] = weakref.WeakKeyDictionary()
_clients_lock = threading.Lock()


def redis_client(alias: str = "default") -> redis.Redis | None:
    """A redis-py client on the pool of cache ``alias`` (the same server and database), made
    once per pool; None when that cache is not Redis (the embedded default)."""
    cache = caches[alias]
    if not isinstance(cache, RedisCache):
        return None
    pool = cache._cache._get_connection_pool(write=True)
    client = _clients.get(pool)
    if client is None:
        with _clients_lock:
            client = _clients.setdefault(pool, redis.Redis(connection_pool=pool))
    return client


def add_flag(key: str, timeout: int, alias: str = "default") -> bool:
    """``caches[alias].add(key, 1, timeout)`` — True when the key was not set and now is —
    as one ``SET NX EX`` on Redis."""
    cache = caches[alias]
    client = redis_client(alias)
    if client is None:
        return cache.add(key, 1, timeout=timeout)
    return bool(client.set(cache.make_key(key), 1, nx=True, ex=timeout))

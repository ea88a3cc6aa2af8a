"""The Redis cache's connection pool is made once per process and URL, however many cache
instances (one per thread / request context) Django makes: a request does not open a new
connection to Redis (portal/cache.py)."""

import threading

from django.core.cache import caches
from django.test import override_settings

from portal.cache import SharedConnectionPool

REDIS_CACHE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                           "LOCATION": "redis://127.0.0.1:6379/9",
                           "OPTIONS": {"pool_class": "portal.cache.SharedConnectionPool"}}}


def _pool_of_a_new_context():
    pools = []

    def read():
        pools.append(caches["default"]._cache._get_connection_pool(write=True))

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    return pools[0]


def test_one_pool_per_url_whatever_the_thread():
    with override_settings(CACHES=REDIS_CACHE):
        first, second = _pool_of_a_new_context(), _pool_of_a_new_context()
        assert caches["default"]._cache._get_connection_pool(write=True) is first
    assert first is second and isinstance(first, SharedConnectionPool)
    other = SharedConnectionPool.from_url("redis://127.0.0.1:6379/10")
    assert other is not first  # another database is another pool
    assert SharedConnectionPool.from_url("redis://127.0.0.1:6379/10") is other

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


def test_a_flag_is_added_once_in_the_caches_own_key_until_it_expires_or_is_deleted():
    from django.core.cache import cache

    from portal.cache import add_flag, redis_client

    with override_settings(CACHES=REDIS_CACHE):
        cache.delete("herald:test-flag")
        assert add_flag("herald:test-flag", timeout=60) is True
        assert add_flag("herald:test-flag", timeout=60) is False  # already set: the caller does nothing
        assert cache.get("herald:test-flag") == 1  # the same key and value as cache.add(key, 1)
        assert 0 < redis_client().ttl(cache.make_key("herald:test-flag")) <= 60
        cache.delete("herald:test-flag")  # as a dispatch task clears its kick flag
        assert add_flag("herald:test-flag", timeout=60) is True
        cache.delete("herald:test-flag")


def test_without_redis_a_flag_is_the_caches_add():
    from django.core.cache import cache

    from portal.cache import add_flag, redis_client

    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        assert redis_client() is None
        assert add_flag("herald:test-flag", timeout=60) is True
        assert add_flag("herald:test-flag", timeout=60) is False
        assert cache.get("herald:test-flag") == 1

"""Per-key throttling (HTTP 429 with ``Retry-After``), API seed §1.4: 1000 requests a minute
by default (``HERALD_API_RATE``). Requests without a valid key are refused before throttling;
the schema and docs pages, which need no key, are throttled per client IP.

The rule is DRF's ``SimpleRateThrottle``'s — at most N requests in any sliding window of the
period, ``Retry-After`` when the oldest of them leaves the window — but with Redis (the
production profile) it is kept as one sorted set per key and checked and recorded by one
Lua script on the server's clock: one round trip of constant size per request (DRF reads and
rewrites the whole list of timestamps, up to N of them, on every request) and no update lost
between two processes. Without Redis (the embedded default, one process) DRF's own code runs
on the cache.
"""

from __future__ import annotations

import os
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiAccess

# KEYS[1] the sorted set of one key's recent requests (score: time). ARGV: the period in
# seconds, the limit, a unique member. Returns {0} (allowed, recorded) or {count, oldest}.
_LUA = """
local key = KEYS[1]
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {count, tostring(now - tonumber(oldest[2]))}
end
redis.call('ZADD', key, now, ARGV[3])
redis.call('EXPIRE', key, math.ceil(window) + 1)
return {0}
"""


@lru_cache(maxsize=1)
def _redis():
    """(client, script), or None when the cache is not Redis (the embedded default)."""
    url = getattr(settings, "REDIS_URL", None)
    if not url or not isinstance(caches["default"], RedisCache):
        return None
    import redis

    client = redis.Redis.from_url(url)
    return client, client.register_script(_LUA)


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self):
        # Read the rate on each request: DRF binds THROTTLE_RATES at import time, so an
        # overridden REST_FRAMEWORK setting (tests) would otherwise be ignored.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiAccess):
            return self.cache_format % {"scope": self.scope, "ident": f"key{request.auth.pk}"}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        redis = _redis()
        if redis is None or self.rate is None:
            return super().allow_request(request, view)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        _client, script = redis
        prefix = getattr(settings, "CACHES", {}).get("default", {}).get("KEY_PREFIX", "herald")
        result = script(keys=[f"{prefix}:{key}"], args=[self.duration, self.num_requests, os.urandom(9).hex()])
        if not result[0]:
            return True
        count, age = int(result[0]), float(result[1])
        # DRF's wait(): the time until the oldest request leaves the window, shared by the
        # requests that would then be available.
        available = self.num_requests - count + 1
        self._wait = (self.duration - age) / available if available > 0 else None
        return False

    def wait(self):
        if hasattr(self, "_wait"):
            return self._wait
        return super().wait()

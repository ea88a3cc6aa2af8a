"""A token bucket per gateway (its messages per second), shared by every worker process.

``take(n)`` *reserves* n tokens and returns how long the caller must wait before sending
them (0 when the bucket had them). Reserving — letting the bucket go negative — keeps the
order fair between workers: whoever asked first sends first. With Redis (production) the
bucket is one Lua script on the server's clock; without Redis (the embedded default, one
process) it lives in memory.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache

from django.conf import settings

_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate)
tokens = tokens - want
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', key, 3600)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


@lru_cache(maxsize=1)
def _redis():
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return None
    import redis

    client = redis.Redis.from_url(url)
    return client, client.register_script(_LUA)


class _MemoryBucket:
    def __init__(self):
        self.lock = threading.Lock()
        self.state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: float, burst: float, want: int) -> float:
        with self.lock:
            now = time.monotonic()
            tokens, ts = self.state.get(key, (burst, now))
            tokens = min(burst, tokens + (now - ts) * rate) - want
            self.state[key] = (tokens, now)
            return 0.0 if tokens >= 0 else -tokens / rate


_memory = _MemoryBucket()


def take(gateway_id: int, tps: int, want: int) -> float:
    """Reserve ``want`` tokens of the gateway's bucket (``tps`` per second, a burst of one
    second); returns the seconds to wait before sending them."""
    rate = float(max(tps, 1))
    key = f"{getattr(settings, 'CACHES', {}).get('default', {}).get('KEY_PREFIX', 'herald')}:tps:{gateway_id}"
    redis = _redis()
    if redis is None:
        return _memory.take(key, rate, rate, want)
    _client, script = redis
    return float(script(keys=[key], args=[rate, rate, want]))


def wait_for(gateway_id: int, tps: int, want: int) -> float:
    delay = take(gateway_id, tps, want)
    if delay > 0:
        time.sleep(delay)
    return delay

"""The token bucket per gateway (docs/messaging.md §3.2): in memory, in Redis, and the
dispatcher waiting for its tokens."""

import os
import types
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from messaging import ratelimit
from messaging.services import dispatch
from messaging.tests import factories as f

fake_provider = f.fake_provider  # fixture


class Clock:
    """A stand-in for the ``time`` module of ``messaging.ratelimit``: the test moves the
    clock; sleeping is recorded (and moves the clock) instead of waiting."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch, settings):
    settings.REDIS_URL = None
    ratelimit._redis.cache_clear()
    monkeypatch.setattr(ratelimit, "_memory", ratelimit._MemoryBucket())
    fake = Clock()
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    yield fake
    ratelimit._redis.cache_clear()


def test_a_full_bucket_gives_one_second_of_tokens_at_once(clock):
    assert ratelimit.take(1, tps=10, want=10) == 0
    assert ratelimit.take(1, tps=10, want=5) == pytest.approx(0.5)   # 5 tokens at 10/s
    assert ratelimit.take(1, tps=10, want=10) == pytest.approx(1.5)  # reserved behind the 5 before


def test_tokens_come_back_at_the_rate_and_never_beyond_one_second(clock):
    assert ratelimit.take(1, tps=100, want=100) == 0
    clock.now += 0.25
    assert ratelimit.take(1, tps=100, want=25) == 0                   # 25 came back
    assert ratelimit.take(1, tps=100, want=1) == pytest.approx(0.01)
    clock.now += 60                                                   # a long pause fills one second's worth
    assert ratelimit.take(1, tps=100, want=100) == 0
    assert ratelimit.take(1, tps=100, want=1) == pytest.approx(0.01)


def test_each_gateway_has_its_own_bucket(clock):
    assert ratelimit.take(1, tps=5, want=5) == 0
    assert ratelimit.take(2, tps=5, want=5) == 0
    assert ratelimit.take(1, tps=5, want=5) == pytest.approx(1.0)


def test_sending_at_the_rate_for_a_while_never_exceeds_it(clock):
    """200 batches of 7 at 50 messages/s: the waits add up to the time the messages need."""
    sent = 0
    for _ in range(200):
        clock.sleep(ratelimit.take(3, tps=50, want=7))
        sent += 7
        assert sent <= 50 + 50 * (clock.now - 1000.0) + 1e-6  # one second's burst, then the rate
    assert clock.now - 1000.0 == pytest.approx((1400 - 50) / 50, rel=1e-6)


def test_wait_for_sleeps_the_wait(clock):
    assert ratelimit.wait_for(1, 10, 10) == 0
    assert ratelimit.wait_for(1, 10, 4) == pytest.approx(0.4)
    assert clock.sleeps == [pytest.approx(0.4)]


@pytest.mark.django_db
def test_the_dispatcher_waits_for_the_gateways_tokens(company, fake_provider, clock):
    gateway = f.gateway(provider="fake", tps=20)
    f.queued(gateway, company, 50)
    assert dispatch.run(gateway.pk, seconds=60) == 50
    assert [len(call) for call in fake_provider.calls] == [20, 20, 10]  # a batch is at most one second's worth
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(0.5)]


def _redis_url_db9():
    url = urlsplit(os.environ["REDIS_URL"])
    return urlunsplit((url.scheme, url.netloc, "/9", url.query, url.fragment))


@pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                    reason="REDIS_URL is not set: the Redis token bucket needs a Redis server (run with "
                           "REDIS_URL=redis://127.0.0.1:6379/9)")
def test_the_redis_bucket_is_shared_and_keeps_the_rate(settings):
    import redis

    settings.REDIS_URL = _redis_url_db9()
    ratelimit._redis.cache_clear()
    gateway_id = f"test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        assert ratelimit.take(gateway_id, tps=10, want=10) == 0
        assert 0.45 < ratelimit.take(gateway_id, tps=10, want=5) <= 0.5
        # another worker process (another connection, the same script) shares the bucket
        other = redis.Redis.from_url(settings.REDIS_URL).register_script(ratelimit._LUA)
        key = next(k.decode() for k in client.keys(f"*:tps:{gateway_id}"))
        assert 1.45 < float(other(keys=[key], args=[10, 10, 10])) <= 1.5
        assert client.ttl(key) > 3000  # an idle gateway's bucket expires
    finally:
        for key in client.keys(f"*:tps:{gateway_id}"):
            client.delete(key)
        ratelimit._redis.cache_clear()

"""The embedded simulator's outcomes: the configured rates, and the same outcome for the
same message every time (tests and demos rely on both)."""

from __future__ import annotations

import uuid

import pytest

from messaging.models import MessageStatus
from messaging.providers import driver_for
from messaging.providers.base import OutboundMessage
from messaging.tests import factories as f

pytestmark = pytest.mark.django_db


def _batch(n: int, seed: int = 7) -> list[OutboundMessage]:
    ids = [uuid.UUID(int=(seed << 64) + i) for i in range(n)]
    return [OutboundMessage(id=i, company_id=1, channel=1, address=f"+3461{n:07d}", sender="Herald",
                            content={"text": "hi"}) for n, i in enumerate(ids)]


def _outcomes(settings: dict, messages):
    driver = driver_for(f.gateway(settings=settings))
    results = driver.send_batch(messages)
    delivery, seen, replies = driver.reports_for([r for r in results if r.status == MessageStatus.SUBMITTED])
    return results, delivery, seen, replies


def test_rates_are_what_the_gateway_says():
    messages = _batch(2000)
    results, delivery, seen, replies = _outcomes(
        {"seed": 1, "reject_rate": 0.1, "deliver_rate": 0.7, "seen_rate": 0.5, "reply_rate": 0.2}, messages)
    rejected = sum(r.status == MessageStatus.REJECTED for r in results)
    delivered = [r for r in delivery if r.status == MessageStatus.DELIVERED]
    assert 150 <= rejected <= 250                                  # 10 % of 2,000
    assert len(delivery) == 2000 - rejected                        # one report per submitted message
    assert 0.65 <= len(delivered) / len(delivery) <= 0.75          # 70 %
    assert 0.45 <= len(seen) / len(delivered) <= 0.55              # 50 % of the delivered
    assert 0.15 <= len(replies) / len(delivered) <= 0.25           # 20 % of the delivered
    assert all(r.provider_status == "UNDELIV" for r in delivery if r.status != MessageStatus.DELIVERED)


def test_the_same_message_gets_the_same_outcome_and_another_seed_another():
    messages = _batch(300)
    settings = {"seed": 1, "reject_rate": 0.3, "deliver_rate": 0.5}
    first = _outcomes(settings, messages)
    again = _outcomes(settings, messages)
    other = _outcomes({**settings, "seed": 2}, messages)

    def summary(outcome):
        results, delivery, _seen, _replies = outcome
        return [r.status for r in results], {r.message_id: r.status for r in delivery}

    assert summary(first) == summary(again)
    assert summary(first) != summary(other)


@pytest.mark.parametrize(("gateway_settings", "expected"), [
    ({"seed": 1}, (MessageStatus.SUBMITTED, MessageStatus.DELIVERED)),              # the defaults: all delivered
    ({"seed": 1, "deliver_rate": 0}, (MessageStatus.SUBMITTED, MessageStatus.UNDELIVERED)),
    ({"seed": 1, "reject_rate": 1}, (MessageStatus.REJECTED, None)),
])
def test_the_extreme_rates_are_exact(gateway_settings, expected):
    results, delivery, _seen, _replies = _outcomes(gateway_settings, _batch(200))
    assert {r.status for r in results} == {expected[0]}
    assert {r.status for r in delivery} == ({expected[1]} if expected[1] else set())

import pytest

from messaging.models import Gateway
from portal.channel_types import Channel


@pytest.fixture
def sim_gateway(db):
    """A simulator gateway for SMS serving any company: every message is delivered."""
    return Gateway.objects.create(name="Simulator SMS", channel=Channel.SMS, provider="simulator",
                                  settings={"seed": 1}, tps=10_000)


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """``with run_commits(): send(...)`` — run the after-commit dispatch as a real commit
    would (tests run inside one transaction that never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)

"""Dispatch kicks made on a thread of the process (web servers, D86): the request does not
wait for Redis or the broker, kicks arriving together are made once, and a process that
exits makes the ones still pending."""

import threading
import time

import pytest
from django.db import transaction

from messaging.services import dispatch


@pytest.fixture
def kicker(monkeypatch, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    made, started = [], threading.Event()

    def fake_kick(pairs):
        started.wait(5)  # the first kick is slow: the ones submitted meanwhile wait for it
        made.append(set(pairs))

    monkeypatch.setattr(dispatch, "kick", fake_kick)
    instance = dispatch._Kicker()
    monkeypatch.setattr(dispatch, "_kicker", instance)
    return instance, made, started


def _wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the kicker thread did not run"
        time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_a_send_hands_its_kick_to_the_thread_and_returns(kicker):
    instance, made, started = kicker
    with transaction.atomic():
        dispatch.kick_after_commit({(1, 0)})
        assert not instance.pending  # nothing before the commit
    assert made == []  # not made by the request (inline, the slow kick would have held it here 5 s)
    dispatch.kick_after_commit({(1, 0)})
    dispatch.kick_after_commit({(2, 1)})
    started.set()
    _wait_for(lambda: sum(len(m) for m in made) >= 2)
    assert set().union(*made) == {(1, 0), (2, 1)}
    assert len(made) <= 2  # the three kicks were made in at most two calls


def test_pending_kicks_are_made_when_the_process_exits(kicker):
    instance, made, started = kicker
    started.set()
    instance.pending = {(3, 0)}
    instance.flush()  # what atexit runs
    assert made == [{(3, 0)}]
    assert not instance.pending


@pytest.mark.django_db
def test_with_eager_tasks_kicks_stay_inline(kicker, settings, django_capture_on_commit_callbacks):
    instance, made, started = kicker
    settings.CELERY_TASK_ALWAYS_EAGER = True
    started.set()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.kick_after_commit({(4, 0)})
    assert made == [{(4, 0)}] and instance.pid is None  # made by the caller; no thread started

"""Holding a source (a paused broadcast) and the steps started for it are serialised on
PostgreSQL: a step never reads "not held" just before a pause commits (and goes out while
paused), nor "held" just before a resume commits (and stays held for ever)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from messaging.models import HeldSource, Source
from messaging.services import holds


@pytest.mark.django_db(transaction=True)
def test_a_pause_waits_for_the_steps_being_started_and_they_see_it_after():
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks between connections need PostgreSQL (SQLite serialises writers)")
    started, release, events = threading.Event(), threading.Event(), []

    def steps_being_started():
        try:
            with transaction.atomic():
                events.append(("steps read held", holds.held_among({(Source.BROADCAST, 41)})))
                started.set()
                release.wait(10)  # the messages are being built and inserted
                events.append(("steps committed", None))
        finally:
            connections.close_all()

    def pause():
        try:
            started.wait(10)
            holds.hold(Source.BROADCAST, 41)
            events.append(("pause committed", None))
        finally:
            connections.close_all()

    a, b = threading.Thread(target=steps_being_started), threading.Thread(target=pause)
    a.start()
    b.start()
    started.wait(10)
    time.sleep(0.5)
    assert [e[0] for e in events] == ["steps read held"]  # the pause waits for the steps' transaction
    release.set()
    a.join(10)
    b.join(10)
    assert [e[0] for e in events] == ["steps read held", "steps committed", "pause committed"]
    assert events[0][1] == set()  # it read "not held", and its messages were in before the pause's UPDATE
    assert HeldSource.objects.filter(source=Source.BROADCAST, source_id=41).exists()
    with transaction.atomic():
        assert holds.held_among({(Source.BROADCAST, 41)}) == {(Source.BROADCAST, 41)}
    holds.release(Source.BROADCAST, 41)
    with transaction.atomic():
        assert holds.held_among({(Source.BROADCAST, 41), (Source.API, 41)}) == set()

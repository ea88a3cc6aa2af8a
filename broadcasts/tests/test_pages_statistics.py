"""The statistics page of a broadcast (spec P§4.1; issue 5 point 6): the header with the
actions its status allows, *Fallback statistics* and per-step *Message statistics* from
the engine's counters (never a COUNT over messages), the live fragment polled while the
run goes on, and the recipient table with its filters and export."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broadcasts.models import Broadcast, BroadcastStatus
from broadcasts.services import runs
from broadcasts.tests import factories as bf
from contacts.models import OptOut
from messaging.services import dispatch
from messaging.tests import factories as mf
from portal.audit import Actor
from portal.channel_types import Channel
from portal.testing import factories

S = BroadcastStatus


def html_of(response) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


def figure(html: str, key: str) -> tuple[str, str]:
    block = re.search(rf'data-figure="{key}">(.*?)</div>', html, re.S).group(1)
    value = re.search(r"<strong data-value>(\d+)</strong>", block).group(1)
    pct = re.search(r"<span class=\"muted\" data-pct>([\d.]+)%</span>", block)
    return value, pct.group(1) if pct else ""


def step_figures(html: str, number: int) -> dict[str, int]:
    row = re.search(rf'<tr data-step-stats="{number}">(.*?)</tr>', html, re.S).group(1)
    return {k: int(v) for k, v in re.findall(r'<td data-figure="(\w+)">(\d+)</td>', row)}


def cells(html: str, column: str) -> list[str]:
    texts = [re.sub(r"<[^>]+>", " ", part.split(">", 1)[1].split("</td>", 1)[0])
             for part in html.split(f'<td data-column="{column}"')[1:]]
    return [" ".join(t.split()) for t in texts]


def actions(html: str) -> list[str]:
    block = re.search(r'<div class="bc-actions" data-testid="actions">(.*?)\n      </div>', html, re.S).group(1)
    return re.findall(r'data-action="([a-z-]+)"', block)


@pytest.fixture
def fallback_run(company, admin_user, run_commits):
    """Six recipients, chain SMS → Viber → Email. The SMS gateway never delivers (every SMS
    comes back undelivered, so step 2 goes out at once); Viber delivers; two recipients
    opted out of Viber as well, and have no e-mail: they end unsuccessful."""
    mf.gateway(company=None, settings={"seed": 1, "deliver_rate": 0})
    mf.gateway(company=None, channel=Channel.VIBER)
    mf.gateway(company=None, channel=Channel.EMAIL)
    mf.sender_id(company, "HERALD")
    mf.sender_id(company, "HeraldViber", channel=Channel.VIBER)
    mf.sender_id(company, "news@acme.test", channel=Channel.EMAIL)
    people = mf.contacts(company, 6)
    OptOut.objects.bulk_create([OptOut(company=company, contact=c, channel=Channel.VIBER) for c in people[:2]])
    b = bf.broadcast(company, name="Spring", recipients={"phones": [c.phone for c in people]}, steps=[
        bf.step(Channel.SMS, sender="HERALD", text="Hi"),
        bf.step(Channel.VIBER, sender="HeraldViber", text="Hola"),
        bf.step(Channel.EMAIL, sender="news@acme.test", content={"subject": "Hi", "html": "<p>Hi</p>"})])
    with run_commits():
        runs.launch(actor=Actor(user=admin_user, company=company), broadcast=b)
    for _ in range(3):
        with run_commits():
            for gw in dispatch.gateways_with_work():
                dispatch.run(gw)
    runs.refresh_progress()
    b.refresh_from_db()
    return b, people


def test_the_statistics_after_a_run_with_fallback(admin_client, fallback_run):
    b, people = fallback_run
    assert b.status == S.COMPLETE
    response = admin_client.get(f"/broadcasts/{b.pk}/")
    assert response.status_code == 200
    html = html_of(response)
    assert "Fallback statistics" in html and "Message statistics" in html
    assert figure(html, "total") == ("6", "")
    assert figure(html, "successful") == ("4", "66.7")
    assert figure(html, "unsuccessful") == ("2", "33.3")
    assert figure(html, "not_initiated") == ("0", "0.0")
    sms, viber, email = step_figures(html, 1), step_figures(html, 2), step_figures(html, 3)
    assert (sms["sent"], sms["submitted"], sms["delivered"], sms["failed"]) == (6, 6, 0, 6)
    assert (viber["sent"], viber["skipped"], viber["delivered"]) == (4, 2, 4)
    assert (email["sent"], email["skipped"]) == (0, 2)  # no e-mail address: skipped
    assert 'data-status="complete"' in html
    assert 'hx-trigger="every' not in html  # a finished run is not polled
    assert actions(html) == ["relaunch", "copy"]


def test_the_recipient_table(admin_client, fallback_run):
    b, people = fallback_run
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/"))
    assert cells(html, "phone") == [c.phone for c in people]
    assert cells(html, "step") == ["3 · Email", "3 · Email", "2 · Viber", "2 · Viber", "2 · Viber", "2 · Viber"]
    assert cells(html, "outcome") == ["Unsuccessful"] * 2 + ["Successful"] * 4
    assert cells(html, "message_status")[2:] == ["Delivered"] * 4
    assert cells(html, "message_status")[:2] == ["Skipped"] * 2
    assert "no address" in cells(html, "error")[0].lower()
    # filters: outcome, step, channel
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/?outcome=unsuccessful"))
    assert cells(html, "phone") == [c.phone for c in people[:2]]
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/?step=2"))
    assert cells(html, "phone") == [c.phone for c in people[2:]]
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/?channel=email"))
    assert cells(html, "phone") == [c.phone for c in people[:2]]
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/?message_status=deliv&sort=-phone"))
    assert cells(html, "phone") == [c.phone for c in reversed(people[2:])]


def test_the_recipient_export(admin_client, fallback_run):
    b, people = fallback_run
    response = admin_client.get(f"/broadcasts/{b.pk}/?export=csv&outcome=successful")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Contact", "Step reached", "Channel", "Outcome", "Message status", "Error"]
    assert rows[1] == [people[2].phone, "2", "Viber", "Successful", "Delivered", ""]
    assert len(rows) == 5
    response = admin_client.get(f"/broadcasts/{b.pk}/?export=xlsx")
    values = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    assert len(values) == 7 and values[1][3] == "Unsuccessful"


def test_the_page_never_counts_messages_and_its_queries_do_not_grow(admin_client, company, admin_user, run_commits):
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")

    def run(n):
        people = mf.contacts(company, n, start=run.start)
        run.start += n
        b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
        with run_commits():
            runs.launch(actor=Actor(user=admin_user, company=company), broadcast=b)
        return b

    run.start = 0

    def queries(b):
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(f"/broadcasts/{b.pk}/").status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    small, big = run(3), run(40)
    queries(small)  # the session's first request writes the session
    few, many = queries(small), queries(big)
    assert len(few) == len(many) <= 12
    assert not [q for q in many if re.search(r'COUNT\(.*FROM "messaging_message"', q, re.S)]
    # unfiltered, the recipient table's total is the run's number of recipients: no count
    # over its plans either (a million of them would cost a second per page view)
    assert not [q for q in many if re.search(r'COUNT\(.*FROM "messaging_deliveryplan"', q, re.S)]
    assert "Rows 1-40 of 40" in admin_client.get(f"/broadcasts/{big.pk}/").content.decode()
    with CaptureQueriesContext(connection) as ctx:
        filtered = admin_client.get(f"/broadcasts/{big.pk}/?outcome=Successful").content.decode()
    assert "Rows 1-40 of 40" in filtered  # a filter counts (capped at 10,000)
    assert [q for q in ctx.captured_queries if re.search(r'COUNT\(.*FROM "messaging_deliveryplan"', q["sql"], re.S)]
    live = CaptureQueriesContext(connection)
    with live:
        admin_client.get(f"/broadcasts/{big.pk}/live/")
    assert not [q for q in live.captured_queries if "messaging_message" in q["sql"]]
    assert len(live.captured_queries) <= 6


@pytest.mark.parametrize("status, expected, polled", [
    (S.DRAFT, ["edit", "copy", "delete"], False),
    (S.REJECTED, ["edit", "copy", "delete"], False),
    (S.SCHEDULED, ["edit", "stop", "copy"], False),
    (S.ON_MODERATION, ["stop", "copy"], False),
    (S.IN_PROGRESS, ["pause", "stop", "copy"], True),
    (S.PAUSED, ["resume", "stop", "copy"], True),
    (S.COMPLETE, ["relaunch", "copy"], False),
    (S.ABORTED, ["copy"], False),
    (S.FAILED, ["copy"], False),
])
def test_the_page_of_each_status(admin_client, company, status, expected, polled):
    b = bf.broadcast(company, name="Run", status=status, error="Target vanished" if status == S.FAILED else "")
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/"))
    assert actions(html) == expected
    assert (f'hx-get="/broadcasts/{b.pk}/live/" hx-trigger="every 3s"' in html) is polled
    assert re.search(r'data-testid="status" data-status="(\w+)">([^<]+)<', html).groups() == (
        status, str(S(status).label))
    if status == S.FAILED:
        assert "Target vanished" in html


def test_the_live_fragment_stops_polling_when_the_run_ends(admin_client, company):
    b = bf.broadcast(company, status=S.IN_PROGRESS, total_contacts=2, resolved=True)
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/live/"))
    assert html.startswith('<div id="bc-live"') and 'hx-trigger="every 3s"' in html
    assert "<html" not in html and "Fallback statistics" in html
    b.status = S.COMPLETE
    b.save()
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/live/"))
    assert 'hx-trigger' not in html and 'data-status="complete"' in html


def test_another_companys_statistics_are_a_404(admin_client, other_company):
    theirs = bf.broadcast(other_company, status=S.IN_PROGRESS)
    for url in (f"/broadcasts/{theirs.pk}/", f"/broadcasts/{theirs.pk}/live/",
                f"/broadcasts/{theirs.pk}/?export=csv"):
        assert admin_client.get(url).status_code == 404, url


def test_the_statistics_need_manage_broadcasts(client, company):
    b = bf.broadcast(company)
    client.force_login(factories.user(company, roles=[factories.system_role("finance_manager")]))
    assert client.get(f"/broadcasts/{b.pk}/").status_code == 403
    assert client.get(f"/broadcasts/{b.pk}/live/").status_code == 403


def test_the_recipient_table_reloads_itself_while_the_recipients_are_resolved(admin_client, company):
    """At launch the page can open before the worker has made the first plans: the table
    follows the resolution (every 5 s) and stops once every recipient is there."""
    b = bf.broadcast(company, status=S.IN_PROGRESS, resolved=False)
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/"))
    section = re.search(r'<section[^>]*id="bc-recipients"[^>]*>', html).group(0)
    assert 'hx-trigger="every 5s"' in section and 'hx-select="#bc-recipients"' in section
    Broadcast.objects.filter(pk=b.pk).update(resolved=True)
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/"))
    section = re.search(r'<section[^>]*id="bc-recipients"[^>]*>', html).group(0)
    assert "hx-trigger" not in section

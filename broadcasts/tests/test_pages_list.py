"""The *Broadcasts* tab (spec P§4.1, P§4.6; rule 11 of P§25; gap G4): the runs on the data
table — columns in the spec's order, the Progress bar from the counters, dates in the
company's time zone, the actions each status allows, filters, sorting, export, a query
count that does not grow with the rows, tenant isolation and the permission."""

from __future__ import annotations

import csv
import datetime
import io
import re

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broadcasts.models import BroadcastStatus, BroadcastType, LaunchType
from broadcasts.services import runs
from broadcasts.tests import factories as bf
from contacts.models import OptOut, Tag, Target
from messaging.tests import factories as mf
from portal.audit import Actor
from portal.testing import factories

S = BroadcastStatus
URL = "/broadcasts/"
UTC = datetime.UTC


@pytest.fixture
def company(db):
    return factories.company("Acme", time_zone="Europe/Madrid")


def cells(response, column):
    html = response.content.decode()
    texts = [re.sub(r"<[^>]+>", " ", part.split(">", 1)[1].split("</td>", 1)[0])
             for part in html.split(f'<td data-column="{column}"')[1:]]
    return [" ".join(t.split()) for t in texts]


def row_actions(response) -> dict[int, list[str]]:
    """``{broadcast id: [data-action of each row action]}``."""
    html = response.content.decode()
    out = {}
    for match in re.finditer(r'<tr data-id="(\d+)">(.*?)</tr>', html, re.S):
        actions = re.search(r'<td class="row-actions">(.*?)</td>', match.group(2), re.S).group(1)
        out[int(match.group(1))] = re.findall(r'data-action="([a-z-]+)"', actions)
    return out


def client_with(client, company, *codes):
    from accounts import services as account_services

    if codes:
        role = account_services.create_role(actor=Actor.system(company), company=company,
                                            name="Role " + "-".join(codes), permissions=list(codes))
        user = factories.user(company, roles=[role])
    else:
        user = factories.user(company, roles=[factories.system_role("finance_manager")])
    client.force_login(user)
    return client


def test_columns_in_the_spec_order_and_dates_in_the_company_time_zone(admin_client, company):
    template = bf.template(company, name="Weekly")
    b = bf.broadcast(company, name="Spring sale", status=S.COMPLETE, template=template,
                     launch_type=LaunchType.RECURRENT, total_contacts=12, resolved=True,
                     scheduled_for=datetime.datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
                     launched_at=datetime.datetime(2025, 7, 1, 22, 0, 5, tzinfo=UTC),
                     finished_at=datetime.datetime(2025, 7, 1, 22, 30, tzinfo=UTC))
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    headers = re.findall(r'<th scope="col" data-column="([a-z_]+)"', html)
    assert headers == ["id", "name", "progress", "type", "status", "scheduled_for", "contacts", "launched_at",
                       "launch_type", "finished_at", "template"]
    assert cells(response, "id") == [str(b.pk)]
    assert cells(response, "name") == ["Spring sale"]
    assert cells(response, "type") == ["Fallback"]
    assert cells(response, "status") == ["Complete"]
    assert cells(response, "scheduled_for") == ["01.03.2025 10:00:00"]  # 09:00 UTC = 10:00 in Madrid (winter)
    assert cells(response, "launched_at") == ["02.07.2025 00:00:05"]  # 22:00 UTC = 00:00 next day (summer)
    assert cells(response, "finished_at") == ["02.07.2025 00:30:00"]
    assert cells(response, "contacts") == ["12"]
    assert cells(response, "launch_type") == ["Recurrent"]
    assert cells(response, "template") == [str(template.pk)]
    assert "Europe/Madrid" in html
    # the tabs: Broadcasts | Templates, and New Broadcast
    assert 'data-nav="templates"' in html and 'href="/broadcasts/templates/"' in html
    assert 'href="/broadcasts/new/"' in html and "New Broadcast" in html
    assert f'href="/broadcasts/{b.pk}/"' in html  # the name opens the statistics page


@pytest.mark.parametrize("status, expected", [
    (S.DRAFT, ["view", "edit", "copy", "delete"]),
    (S.REJECTED, ["view", "edit", "copy", "delete"]),
    (S.SCHEDULED, ["view", "edit", "copy", "stop"]),
    (S.ON_MODERATION, ["view", "copy", "stop"]),
    (S.IN_PROGRESS, ["view", "copy", "pause", "stop"]),
    (S.PAUSED, ["view", "copy", "resume", "stop"]),
    (S.COMPLETE, ["view", "copy", "relaunch"]),
    (S.ABORTED, ["view", "copy"]),
    (S.FAILED, ["view", "copy"]),
])
def test_each_status_offers_its_actions(admin_client, company, status, expected):
    b = bf.broadcast(company, status=status)
    response = admin_client.get(URL)
    assert row_actions(response) == {b.pk: expected}
    html = response.content.decode()
    if "stop" in expected:
        assert "return confirm('Stop this broadcast?" in html
    if "delete" in expected:
        assert "return confirm('Delete this broadcast?')" in html


def test_the_progress_bar_shows_successful_and_unsuccessful_shares(admin_client, company, admin_user, run_commits):
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    people = mf.contacts(company, 4)
    OptOut.objects.create(company=company, contact=people[0], channel=1)  # its only step is skipped
    b = bf.broadcast(company, name="Run", recipients={"phones": [c.phone for c in people]})
    idle = bf.broadcast(company, name="Idle")
    with run_commits():
        runs.launch(actor=Actor(user=admin_user, company=company), broadcast=b)
    response = admin_client.get(URL)
    html = response.content.decode()
    bar = re.search(rf'<tr data-id="{b.pk}">.*?<div class="bc-progress" title="([^"]+)" data-successful="([\d.]+)" '
                    r'data-unsuccessful="([\d.]+)"', html, re.S)
    assert bar.groups() == ("75% successful, 25% unsuccessful", "75.0", "25.0")
    assert 'style="width:75.0%"' in html and 'style="width:25.0%"' in html
    idle_bar = re.search(rf'<tr data-id="{idle.pk}">.*?data-successful="([\d.]+)"', html, re.S)
    assert idle_bar.group(1) == "0.0"


def test_filters_by_name_status_type_and_launch(admin_client, company):
    a = bf.broadcast(company, name="Spring sale", status=S.COMPLETE)
    b = bf.broadcast(company, name="Summer sale", status=S.IN_PROGRESS, launch_type=LaunchType.API)
    c = bf.broadcast(company, name="RCS probe", type=BroadcastType.RCS_CHECK, description="")
    bf.broadcast(company, name="Autumn", description="new season")

    def ids(query):
        return [int(i) for i in cells(admin_client.get(URL + query), "id")]

    assert ids("?name=sale") == [b.pk, a.pk]
    assert ids("?status=progress") == [b.pk]
    assert ids("?status=complete") == [a.pk]
    assert ids("?type=rcs") == [c.pk]
    assert ids("?launch_type=api") == [b.pk]
    assert ids("?description__empty=false") == [ids("?name=Autumn")[0]]
    assert ids("?name__empty=true") == []
    assert ids("?name__empty=false&status=draft") == [ids("?name=Autumn")[0], c.pk]
    # sort: a header click sorts descending, the next ascending
    assert ids("?sort=-name") == sorted([a.pk, b.pk, c.pk, ids("?name=Autumn")[0]],
                                        key=lambda pk: {a.pk: "Spring sale", b.pk: "Summer sale", c.pk: "RCS probe"}
                                        .get(pk, "Autumn"), reverse=True)
    assert ids("?sort=id")[0] == a.pk


def test_export_csv_and_xlsx(admin_client, company):
    bf.broadcast(company, name="=cmd", status=S.COMPLETE, total_contacts=3, resolved=True,
                 launched_at=datetime.datetime(2025, 1, 10, 8, 0, tzinfo=UTC))
    response = admin_client.get(URL + "?export=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:5] == ["ID", "Broadcast Name", "Progress", "Type", "Status"]
    assert rows[1][1] == "'=cmd"  # formula escaped
    assert rows[1][2] == "0% successful, 0% unsuccessful" and rows[1][4] == "Complete"
    assert "10.01.2025 09:00:00" in rows[1]  # the company's time zone
    response = admin_client.get(URL + "?export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert values[0][1] == "Broadcast Name" and values[1][4] == "Complete"


def test_the_query_count_does_not_grow_with_the_rows(admin_client, company):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    for status in (S.DRAFT, S.IN_PROGRESS, S.COMPLETE):
        bf.broadcast(company, status=status)
    queries()  # the first request of a session also writes the session
    few = queries()
    for i in range(30):
        bf.broadcast(company, status=[S.DRAFT, S.IN_PROGRESS, S.COMPLETE, S.PAUSED][i % 4],
                     template=bf.template(company) if i % 3 == 0 else None)
    assert queries() == few
    assert few <= 8


def test_to_broadcasts_from_the_contacts_pages_opens_a_new_broadcast(admin_client, company):
    target = Target.objects.create(company=company, name="Spain", filters=[])
    tag = Tag.objects.create(company=company, name="vip")
    response = admin_client.get(f"{URL}?target={target.pk}&tag={tag.pk}")
    assert response.status_code == 302
    assert response["Location"] == f"/broadcasts/new/?target={target.pk}&tag={tag.pk}"
    html = admin_client.get(response["Location"]).content.decode()
    assert re.search(rf'name="targets" value="{target.pk}" checked', html)
    assert re.search(rf'name="tags" value="{tag.pk}" checked', html)


def test_another_companys_broadcasts_are_not_listed(admin_client, company, other_company):
    mine = bf.broadcast(company, name="Mine")
    bf.broadcast(other_company, name="Theirs")
    response = admin_client.get(URL)
    assert cells(response, "name") == ["Mine"] and [int(i) for i in cells(response, "id")] == [mine.pk]
    body = b"".join(admin_client.get(URL + "?export=csv").streaming_content).decode()
    assert "Theirs" not in body


def test_the_page_needs_manage_broadcasts(client, company):
    assert client_with(client, company).get(URL).status_code == 403
    assert client_with(client, company, "manage_broadcasts").get(URL).status_code == 200


def test_sign_in_required(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]

"""The data table behind every list page, exercised through the Users page."""

import csv
import io

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import TablePreference
from portal.audit import Actor
from portal.testing import factories

URL = "/users/"


@pytest.fixture
def people(company, admin_user):
    rows = []
    for i, (first, last) in enumerate([("Zoe", "Young"), ("Bob", "Brown"), ("Carla", "Cruz"), ("=cmd", "Evil")]):
        rows.append(factories.user(company, login=f"p{i}-{first.lower().strip('=')}", first_name=first, last_name=last,
                                   middle_name="M" if i % 2 else ""))
    return rows


def rows_of(response):
    """Logins shown in the table, top to bottom."""
    html = response.content.decode()
    return [line.split(">", 1)[1].split("<", 1)[0] for line in html.split('<td data-column="login"')[1:]]


def test_default_sort_and_header_clicks(admin_client, people):
    assert rows_of(admin_client.get(URL))[0] == "acme-admin"  # last name "Admin" sorts first ascending
    desc = rows_of(admin_client.get(URL + "?sort=-login"))
    asc = rows_of(admin_client.get(URL + "?sort=login"))
    assert desc == sorted(desc, reverse=True) and asc == sorted(asc)
    # A header click sorts descending first, then ascending.
    page = admin_client.get(URL).content.decode()
    assert "?sort=-login" in page
    page = admin_client.get(URL + "?sort=-login").content.decode()
    assert "?sort=login" in page


def test_unknown_sort_falls_back_to_default(admin_client, people):
    assert rows_of(admin_client.get(URL + "?sort=password"))[0] == "acme-admin"


def test_filter_by_value_is_a_case_insensitive_substring(admin_client, people):
    response = admin_client.get(URL + "?last_name=RU")
    assert rows_of(response) == ["p2-carla"]
    assert "Rows 1-1 of 1" in response.content.decode()


def test_filters_combine_with_and(admin_client, people):
    assert rows_of(admin_client.get(URL + "?first_name=o&last_name=young")) == ["p0-zoe"]
    assert rows_of(admin_client.get(URL + "?first_name=o&last_name=brown")) == ["p1-bob"]


def test_empty_and_non_empty_values(admin_client, people):
    non_empty = rows_of(admin_client.get(URL + "?middle_name__empty=false"))
    empty = rows_of(admin_client.get(URL + "?middle_name__empty=true"))
    assert sorted(non_empty) == ["p1-bob", "p3-cmd"]
    assert "p0-zoe" in empty and "p1-bob" not in empty


def test_range_filter_on_dates(admin_client, people):
    assert len(rows_of(admin_client.get(URL + "?created_at__min=2000-01-01&created_at__max=2999-12-31"))) == 5
    assert rows_of(admin_client.get(URL + "?created_at__max=2000-01-01")) == []


def test_invalid_filter_value_gets_a_message_not_a_crash(admin_client, people):
    response = admin_client.get(URL + "?created_at__min=yesterday")
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
    assert rows_of(response) == []


def test_active_filter_chip_links_back_without_it(admin_client, people):
    html = admin_client.get(URL + "?last_name=cruz&sort=login").content.decode()
    assert 'data-filter="last_name"' in html
    assert 'href="?sort=login"' in html


def test_pagination_and_page_sizes(admin_client, company):
    for i in range(24):
        factories.user(company, login=f"bulk{i:02d}")
    first = admin_client.get(URL + "?per_page=10&sort=login")
    assert "Rows 1-10 of 25" in first.content.decode()
    third = admin_client.get(URL + "?per_page=10&sort=login&page=3")
    assert "Rows 21-25 of 25" in third.content.decode()
    assert len(rows_of(third)) == 5
    # a size that is not offered falls back to 100
    assert "Rows 1-25 of 25" in admin_client.get(URL + "?per_page=7").content.decode()


def test_list_page_query_count_does_not_grow_with_rows(admin_client, company):
    factories.user(company)
    admin_client.get(URL)  # first request of the session records its activity time
    with CaptureQueriesContext(connection) as few:
        admin_client.get(URL)
    for _ in range(20):
        factories.user(company, roles=[factories.system_role("noc_engineer"), factories.system_role("finance_manager")])
    with CaptureQueriesContext(connection) as many:
        admin_client.get(URL + "?sort=-login")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_columns_to_show_are_saved_per_user(admin_client, admin_user, company):
    response = admin_client.post(reverse("table_columns", args=["users"]), {"columns": ["login", "email", "bogus"]},
                                 content_type="application/json")
    assert response.status_code == 302
    assert TablePreference.objects.get(user=admin_user, table="users").columns == ["login", "email"]
    html = admin_client.get(URL).content.decode()
    assert '<th scope="col" data-column="login"' in html
    assert 'data-column="first_name"' not in html.split("<tbody")[1]
    other = factories.admin(company)
    client = Client()
    client.force_login(other)
    assert '<td data-column="first_name"' in client.get(URL).content.decode()


def test_columns_refused_when_none_known(admin_client):
    response = admin_client.post(reverse("table_columns", args=["users"]), {"columns": ["nope"]},
                                 content_type="application/json")
    assert response.status_code == 400
    assert "at least one known column" in response.json()["message"]
    assert admin_client.post(reverse("table_columns", args=["nosuch"]), {"columns": ["login"]},
                             content_type="application/json").status_code == 404


def test_csv_export_has_filtered_rows_and_escapes_formulas(admin_client, people):
    response = admin_client.get(URL + "?last_name=i&sort=login&export=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="users-' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["First name", "Middle name", "Last name"]
    logins = [r[3] for r in table[1:]]
    assert logins == ["acme-admin", "p3-cmd"]  # Admin, Evil contain "i"; the filter applies to the export
    assert table[2][0] == "'=cmd"


def test_xlsx_export_opens_in_a_spreadsheet(admin_client, people):
    response = admin_client.get(URL + "?sort=login&export=xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][3] == "Login"
    assert [r[3] for r in rows[1:]] == sorted(["acme-admin", "p0-zoe", "p1-bob", "p2-carla", "p3-cmd"])
    assert any(r[0] == "'=cmd" for r in rows[1:])


def test_export_requires_the_export_permission(client, company):
    role = services.create_role(actor=Actor.system(company), company=company, name="Users only",
                                permissions=["manage_users"])
    user = factories.user(company, roles=[role])
    client.force_login(user)
    assert client.get(URL).status_code == 200
    assert "data-export" not in client.get(URL).content.decode()
    assert client.get(URL + "?export=csv").status_code == 403

"""The Targets tab (spec P§6.7): the table, add / edit with the filter builder, the live
count, duplicate, delete, *To broadcasts*, permissions and tenant isolation."""

import json
import re

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import AttributeType, Target
from portal.audit import Actor
from portal.testing import factories

URL = "/contacts/targets/"
ADULTS = [{"field": "attribute:age", "mode": "range", "from": "18"}]


@pytest.fixture
def actor(company, admin_user):
    return Actor(user=admin_user, company=company)


@pytest.fixture
def people(company, actor):
    rows = [("+34612345671", {"name": "Ana", "age": 34, "gender": "f", "city": "Madrid"}, ["news"]),
            ("+34612345672", {"name": "Bea", "age": 17, "gender": "f"}, []),
            ("+34612345673", {"name": "Carl", "age": 61, "gender": "m", "city": "Lugo"}, ["news"])]
    return [services.create_contact(actor=actor, company=company, phone=p, attributes=a, tags=t) for p, a, t in rows]


def names(response):
    return re.findall(r"data-target-name>([^<]*)<", response.content.decode())


def test_table_lists_targets_with_filter_chips_and_actions(admin_client, company, actor):
    target = services.create_target(actor=actor, company=company, name="Adult women", filters=[
        {"field": "attribute:age", "mode": "range", "from": "18", "to": "65"},
        {"field": "attribute:gender", "mode": "value", "value": "f"},
        {"field": "attribute:city", "mode": "nonempty"}, {"field": "tag", "mode": "empty"}])
    services.count_launch(target)
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert names(response) == ["Adult women"]
    for chip in ("Age: 18 – 65", "Gender: “f”", "City: any value", "Tags: empty"):
        assert f'<span class="chip">{chip}</span>' in html, chip
    assert '<td data-column="launches">1</td>' in html
    assert re.search(r'<td data-column="created_at">\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d</td>', html)
    for action in ("duplicate-target", "edit-target", "to-broadcasts", "delete-target"):
        assert f'data-action="{action}"' in html
    assert f'href="/broadcasts/new/?target={target.pk}"' in html
    assert f'data-select-row value="{target.pk}"' in html  # multi-select → To broadcasts
    assert 'data-nav="targets" class="is-active"' in html


def test_table_filter_sort_and_export(admin_client, company, actor):
    for name in ("Zeta", "Alpha", "Mid"):
        services.create_target(actor=actor, company=company, name=name, filters=ADULTS)
    assert names(admin_client.get(URL + "?sort=name")) == ["Alpha", "Mid", "Zeta"]
    assert names(admin_client.get(URL + "?name=ALP")) == ["Alpha"]
    body = b"".join(admin_client.get(URL + "?export=csv&sort=name").streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "Name,Filters,Launches,Created,Updated"
    assert body.splitlines()[1].startswith("Alpha,Age: 18 – …,0,")


def test_add_target(admin_client, company, people):
    html = admin_client.get(reverse("contacts:target_create")).content.decode()
    assert "Add filter" in html and reverse("contacts:target_count") in html
    fields = json.loads(re.search(r'targetBuilder\((.*?), \[\]\)', html).group(1).replace("&quot;", '"'))
    by_field = {f["field"]: f for f in fields}
    assert {"phone", "country", "mno", "tag", "attribute:age", "attribute:gender"} <= set(by_field)
    assert by_field["attribute:gender"]["values"] == ["m", "f"] and by_field["attribute:age"]["kind"] == "number"
    filters = [{"field": "attribute:gender", "mode": "value", "value": "f"},
               {"field": "attribute:age", "mode": "range", "from": "18"}]
    response = admin_client.post(reverse("contacts:target_create"), {"name": "Adult women",
                                                                       "filters": json.dumps(filters)})
    assert response.status_code == 302 and response.url == URL
    target = Target.objects.get(company=company)
    assert target.name == "Adult women" and target.filters == filters


@pytest.mark.parametrize("filters, message", [
    ('[{"field": "attribute:age", "mode": "value", "value": "old"}]', "is not a number"),
    ('[{"field": "attribute:nosuch", "mode": "empty"}]', "There is no attribute"),
    ("not json", "The filters could not be read."),
    ('{"field": "tag"}', "The filters could not be read."),
])
def test_add_target_refuses_wrong_filters(admin_client, company, filters, message):
    response = admin_client.post(reverse("contacts:target_create"), {"name": "T", "filters": filters})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Target.objects.exists()


def test_live_count(admin_client, company, people):
    url = reverse("contacts:target_count")
    assert admin_client.post(url, {"filters": "[]"}).json() == {"count": 3}
    assert admin_client.post(url, {"filters": json.dumps(ADULTS)}).json() == {"count": 2}
    three = ADULTS + [{"field": "attribute:gender", "mode": "value", "value": "f"},
                      {"field": "tag", "mode": "value", "value": "news"}]
    assert admin_client.post(url, {"filters": json.dumps(three)}).json() == {"count": 1}
    response = admin_client.post(url, {"filters": json.dumps(ADULTS)}, HTTP_HX_REQUEST="true")
    assert 'data-count="2"' in response.content.decode() and "2 contacts match" in response.content.decode()
    bad = admin_client.post(url, {"filters": '[{"field": "attribute:age", "mode": "value", "value": "x"}]'})
    assert bad.status_code == 400 and "is not a number" in bad.json()["error"]
    bad = admin_client.post(url, {"filters": "[{"}, HTTP_HX_REQUEST="true")
    assert "The filters could not be read." in bad.content.decode()
    assert admin_client.get(url).status_code == 405


def test_edit_target_shows_count_launches_and_actions(admin_client, company, actor, people):
    target = services.create_target(actor=actor, company=company, name="Adults", filters=ADULTS)
    Target.objects.filter(pk=target.pk).update(launches=7)
    html = admin_client.get(reverse("contacts:target_edit", args=[target.pk])).content.decode()
    assert 'value="Adults"' in html and '<dd data-testid="launches">7</dd>' in html
    assert 'hx-trigger="load, herald:filters-changed from:body delay:250ms"' in html
    assert f'href="/broadcasts/new/?target={target.pk}"' in html and "Duplicate" in html and "Delete" in html
    response = admin_client.post(reverse("contacts:target_edit", args=[target.pk]), {
        "name": "Minors", "filters": json.dumps([{"field": "attribute:age", "mode": "range", "to": "17"}])})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.name == "Minors" and target.launches == 7
    assert admin_client.get(reverse("contacts:saved_target_count", args=[target.pk])).json() == {"count": 1}


def test_duplicate_and_delete(admin_client, company, actor):
    target = services.create_target(actor=actor, company=company, name="Adults", filters=ADULTS)
    assert admin_client.post(reverse("contacts:target_duplicate", args=[target.pk])).status_code == 302
    copy = Target.objects.exclude(pk=target.pk).get(company=company)
    assert copy.name == "Adults (copy)" and copy.filters == ADULTS
    assert admin_client.post(reverse("contacts:target_delete", args=[target.pk])).status_code == 302
    assert list(Target.objects.filter(company=company)) == [copy]
    assert admin_client.get(reverse("contacts:target_delete", args=[copy.pk])).status_code == 405


def test_a_target_whose_attribute_was_deleted_says_so(admin_client, company, actor, people):
    target = services.create_target(actor=actor, company=company, name="City",
                                    filters=[{"field": "attribute:city", "mode": "nonempty"}])
    services.delete_attribute(actor=actor, attribute=company_attribute(company, "city"))
    response = admin_client.get(reverse("contacts:saved_target_count", args=[target.pk]))
    assert response.status_code == 400 and "There is no attribute" in response.json()["error"]
    assert admin_client.get(reverse("contacts:target_edit", args=[target.pk])).status_code == 200
    assert admin_client.get(URL).status_code == 200


def company_attribute(company, key):
    from contacts.models import Attribute

    return Attribute.objects.get(company=company, key=key)


@pytest.mark.parametrize("method, name, needs_id", [
    ("get", "contacts:targets", False), ("get", "contacts:target_create", False),
    ("post", "contacts:target_create", False), ("post", "contacts:target_count", False),
    ("get", "contacts:target_edit", True), ("post", "contacts:target_edit", True),
    ("post", "contacts:target_duplicate", True), ("post", "contacts:target_delete", True),
    ("get", "contacts:saved_target_count", True)])
def test_pages_need_manage_contacts(client, company, method, name, needs_id):
    target = services.create_target(actor=Actor.system(company), company=company, name="Adults", filters=ADULTS)
    client.force_login(factories.user(company, roles=[factories.system_role("noc_engineer")]))
    response = getattr(client, method)(reverse(name, args=[target.pk] if needs_id else []),
                                       {"name": "x", "filters": "[]"})
    assert response.status_code == 403
    assert list(Target.objects.values_list("name", flat=True)) == ["Adults"]


@pytest.fixture
def theirs(other_company):
    actor = Actor.system(other_company)
    services.create_attribute(actor=actor, company=other_company, name="Secret score", type=AttributeType.NUMBER)
    for i in range(5):
        services.create_contact(actor=actor, company=other_company, phone=f"+3469900011{i}",
                                attributes={"age": 40})
    return services.create_target(actor=actor, company=other_company, name="Globex target", filters=ADULTS)


@pytest.mark.parametrize("method, name", [
    ("get", "contacts:target_edit"), ("post", "contacts:target_edit"), ("post", "contacts:target_duplicate"),
    ("post", "contacts:target_delete"), ("get", "contacts:saved_target_count")])
def test_another_companys_target_answers_404(admin_client, theirs, method, name):
    response = getattr(admin_client, method)(reverse(name, args=[theirs.pk]), {"name": "pwned", "filters": "[]"})
    assert response.status_code == 404
    assert list(Target.objects.values_list("name", flat=True)) == ["Globex target"]


def test_lists_and_counts_never_include_another_company(admin_client, company, people, theirs):
    assert "Globex target" not in admin_client.get(URL).content.decode()
    assert admin_client.post(reverse("contacts:target_count"), {"filters": json.dumps(ADULTS)}).json() == {"count": 2}
    html = admin_client.get(reverse("contacts:target_create")).content.decode()
    assert "Secret score" not in html
    bad = admin_client.post(reverse("contacts:target_count"),
                            {"filters": '[{"field": "attribute:secret_score", "mode": "nonempty"}]'})
    assert bad.status_code == 400

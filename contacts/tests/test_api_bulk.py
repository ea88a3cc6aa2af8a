"""POST /api/v1/contacts/bulk: upsert up to 1,000 contacts with per-row results, the three
duplicate modes, in-call duplicates, idempotent retries, set-wise queries, audit, scope
and tenant isolation; and the service behind it."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import services
from contacts.api.testing import KEY_NAME, last_event, make_contacts, phone, recipients_client
from contacts.models import Contact, Tag
from portal.api.testing import assert_api_error, key_client
from portal.audit import Actor
from portal.models import AuditDetail
from portal.testing import factories

URL = "/api/v1/contacts/bulk"


@pytest.fixture
def keyed(company):
    return recipients_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


def bulk(client, contacts, **body):
    return client.post(URL, {"contacts": contacts, **body}, format="json")


def statuses(response):
    assert response.status_code == 200, response.content[:800]
    return [row["status"] for row in response.json()["results"]]


def tags_of(contact_id):
    return sorted(Contact.objects.get(pk=contact_id).tags.values_list("name", flat=True))


@pytest.mark.django_db
class TestResults:
    def test_mixed_call_answers_each_row_in_order(self, client, company):
        [existing] = make_contacts(company, 1, attributes={"name": "Old"})
        response = bulk(client, [
            {"phone": "+34 612 000 101", "attributes": {"name": "Ana", "age": "34"}, "tags": ["vip"]},
            {"phone": existing.phone, "attributes": {"name": "New"}},
            {"phone": "12ab"},
            {"phone": "+34612000102", "attributes": {"age": "old", "shoe": 1}},
            {"phone": "0034612000101"},
        ])
        body = response.json()
        assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
        assert statuses(response) == ["created", "skipped", "error", "error", "error"]
        assert (body["created"], body["updated"], body["skipped"], body["failed"]) == (1, 0, 1, 3)
        created, skipped, bad_phone, bad_attrs, dup = body["results"]
        assert created["errors"] is None and skipped["errors"] is None
        assert skipped["id"] == existing.pk
        ana = Contact.objects.get(pk=created["id"])
        assert (ana.company, ana.phone, ana.country) == (company, "+34612000101", "ES")
        assert ana.attributes == {"name": "Ana", "age": 34}
        assert tags_of(ana.pk) == ["vip"]
        assert bad_phone["id"] is None and "not a phone number" in bad_phone["errors"]["phone"][0]
        assert set(bad_attrs["errors"]) == {"attributes.age", "attributes.shoe"}
        assert dup["errors"] == {"phone": ["Duplicate of row 0: +34612000101 appears earlier in this call."]}
        existing.refresh_from_db()
        assert existing.attributes == {"name": "Old"}
        assert Contact.objects.for_company(company).count() == 2

    def test_row_shape_errors_stay_in_their_row(self, client, company):
        response = bulk(client, ["+34612000201", {"phone": "+34612000202", "name": "Ann"},
                                 {"phone": "+34612000203", "attributes": ["x"]}, {"phone": "+34612000204", "tags": "vip"},
                                 {"phone": True}, {}, {"phone": "+34612000205", "wechat_id": "w" * 65},
                                 {"phone": 34612000206}])
        assert statuses(response) == ["error"] * 7 + ["created"]
        errors = [r["errors"] for r in response.json()["results"]]
        assert errors[0] == {"non_field_errors": ["Each contact must be an object."]}
        assert list(errors[1]) == ["name"]
        assert list(errors[2]) == ["attributes"]
        assert list(errors[3]) == ["tags"]
        assert list(errors[4]) == ["phone"] and list(errors[5]) == ["phone"]
        assert list(errors[6]) == ["wechat_id"]
        assert list(Contact.objects.for_company(company).values_list("phone", flat=True)) == ["+34612000206"]

    def test_all_rows_bad_writes_nothing(self, client, company):
        response = bulk(client, [{"phone": "x"}, {"phone": "y"}], tags=["campaign"])
        assert statuses(response) == ["error", "error"]
        assert not Contact.objects.for_company(company).exists()
        assert not Tag.objects.for_company(company).exists()
        assert last_event("Bulk upsert", company) is None


@pytest.mark.django_db
class TestDuplicateModes:
    @pytest.fixture
    def existing(self, company):
        [contact] = make_contacts(company, 1, attributes={"name": "Ana", "city": "Madrid"}, tags=["old"])
        Contact.objects.filter(pk=contact.pk).update(wechat_id="wx-old")
        return contact

    def row(self, existing):
        return {"phone": existing.phone, "attributes": {"name": "Anna", "age": 40, "city": None},
                "tags": ["row-tag"], "wechat_id": "wx-new"}

    def test_skip_leaves_the_contact_alone(self, client, existing):
        response = bulk(client, [self.row(existing)], duplicates="skip", tags=["call-tag"])
        assert statuses(response) == ["skipped"]
        existing.refresh_from_db()
        assert existing.attributes == {"name": "Ana", "city": "Madrid"} and existing.wechat_id == "wx-old"
        assert tags_of(existing.pk) == ["old"]

    def test_skip_is_the_default(self, client, existing):
        assert statuses(bulk(client, [self.row(existing)])) == ["skipped"]

    def test_override_replaces_given_values_clears_nulls_keeps_the_rest(self, client, existing, company):
        Contact.objects.filter(pk=existing.pk).update(attributes={"name": "Ana", "city": "Madrid", "surname": "R"})
        response = bulk(client, [self.row(existing)], duplicates="override", tags=["call-tag"])
        assert statuses(response) == ["updated"]
        assert response.json()["results"][0]["id"] == existing.pk
        existing.refresh_from_db()
        assert existing.attributes == {"name": "Anna", "age": 40, "surname": "R"}
        assert existing.wechat_id == "wx-new"
        assert tags_of(existing.pk) == ["call-tag", "old", "row-tag"]

    def test_enrich_only_fills_missing_values(self, client, existing):
        response = bulk(client, [self.row(existing)], duplicates="enrich", tags=["call-tag"])
        assert statuses(response) == ["updated"]
        existing.refresh_from_db()
        assert existing.attributes == {"name": "Ana", "city": "Madrid", "age": 40}
        assert existing.wechat_id == "wx-old"
        assert tags_of(existing.pk) == ["call-tag", "old", "row-tag"]

    def test_enrich_sets_wechat_when_missing(self, client, company):
        [contact] = make_contacts(company, 1)
        bulk(client, [{"phone": contact.phone, "wechat_id": "wx"}], duplicates="enrich")
        contact.refresh_from_db()
        assert contact.wechat_id == "wx"

    def test_updated_at_moves_only_when_something_changed(self, client, existing):
        before = Contact.objects.get(pk=existing.pk).updated_at
        bulk(client, [{"phone": existing.phone, "attributes": {"name": "Ana"}}], duplicates="override")
        assert Contact.objects.get(pk=existing.pk).updated_at == before
        bulk(client, [{"phone": existing.phone, "attributes": {"name": "Zoe"}}], duplicates="override")
        assert Contact.objects.get(pk=existing.pk).updated_at > before

    def test_call_tags_go_on_created_rows(self, client, company):
        response = bulk(client, [{"phone": phone(), "tags": ["Row"]}, {"phone": phone()}], tags=["call", "ROW"])
        first, second = (r["id"] for r in response.json()["results"])
        # one tag per name, case-insensitively; the first spelling given wins
        assert tags_of(first) == ["ROW", "call"] and tags_of(second) == ["ROW", "call"]
        assert Tag.objects.for_company(company).count() == 2

    def test_existing_tag_names_are_reused_case_insensitively(self, client, company):
        Tag.objects.create(company=company, name="VIP")
        response = bulk(client, [{"phone": phone(), "tags": ["vip"]}])
        assert tags_of(response.json()["results"][0]["id"]) == ["VIP"]
        assert Tag.objects.for_company(company).count() == 1


@pytest.mark.django_db
class TestCallErrors:
    def test_more_than_1000_is_422(self, client, company):
        rows = [{"phone": phone()} for _ in range(1001)]
        body = assert_api_error(bulk(client, rows), 422)
        assert body["errors"] == {"contacts": ["At most 1000 contacts per call; split the list."]}
        assert not Contact.objects.for_company(company).exists()

    def test_empty_or_missing_list_is_422(self, client):
        assert "contacts" in assert_api_error(bulk(client, []), 422)["errors"]
        assert "contacts" in assert_api_error(client.post(URL, {}, format="json"), 422)["errors"]
        assert "contacts" in assert_api_error(client.post(URL, {"contacts": "x"}, format="json"), 422)["errors"]

    def test_unknown_mode_is_422(self, client):
        body = assert_api_error(bulk(client, [{"phone": phone()}], duplicates="merge"), 422)
        assert "duplicates" in body["errors"]

    def test_bad_call_tags_are_422(self, client):
        body = assert_api_error(bulk(client, [{"phone": phone()}], tags=["x" * 101]), 422)
        assert list(body["errors"]) == ["tags.0"]

    def test_unknown_call_field_is_422(self, client):
        assert "mode" in assert_api_error(bulk(client, [{"phone": phone()}], mode="skip"), 422)["errors"]


@pytest.mark.django_db
class TestIdempotence:
    def test_retrying_the_same_call_creates_nothing_new(self, client, company):
        rows = [{"phone": phone(), "attributes": {"name": f"N{i}"}, "tags": ["t"]} for i in range(20)]
        first = bulk(client, rows, duplicates="override", tags=["call"])
        assert statuses(first) == ["created"] * 20
        state = sorted(Contact.objects.for_company(company).values_list("id", "phone", "attributes"))
        second = bulk(client, rows, duplicates="override", tags=["call"])
        assert statuses(second) == ["updated"] * 20
        assert [r["id"] for r in second.json()["results"]] == [r["id"] for r in first.json()["results"]]
        assert sorted(Contact.objects.for_company(company).values_list("id", "phone", "attributes")) == state
        assert statuses(bulk(client, rows)) == ["skipped"] * 20
        assert Contact.objects.for_company(company).count() == 20

    def test_a_lost_race_is_rerun_against_the_winners_rows(self, company, monkeypatch):
        """Another writer inserts one of the numbers between our read and our insert: the
        unique constraint stops the duplicate, and the call is re-applied to the row the
        other writer made."""
        from contacts.services import bulk as bulk_module

        number = phone()
        Contact.objects.create(company=company, phone=number, attributes={"name": "Winner"})
        original, reads = bulk_module.contacts_for, []

        def stale_first_read(company_):  # the first read happens "before" the winner's insert
            reads.append(1)
            return original(company_).none() if len(reads) == 1 else original(company_)

        monkeypatch.setattr(bulk_module, "contacts_for", stale_first_read)
        result = services.bulk_upsert_contacts(actor=Actor.system(company), company=company,
                                               rows=[{"phone": number, "attributes": {"age": 3}}], duplicates="enrich")
        assert len(reads) == 2
        assert [r.status for r in result.results] == ["updated"]
        assert Contact.objects.for_company(company).get().attributes == {"name": "Winner", "age": 3}


@pytest.mark.django_db
class TestSetWise:
    def test_1000_rows_in_a_handful_of_queries(self, client, company):
        make_contacts(company, 300, start=30_000_000, attributes={"name": "Old"})
        rows = [{"phone": phone(30_000_000 + i), "attributes": {"name": f"N{i}", "age": i},
                 "tags": ["row-tag"] if i % 2 else []} for i in range(1000)]
        rows[10]["phone"] = "bad"
        with CaptureQueriesContext(connection) as ctx:
            response = bulk(client, rows, duplicates="override", tags=["call"])
        body = response.json()
        assert (body["created"], body["updated"], body["failed"]) == (700, 299, 1)
        # PostgreSQL: one statement per step. SQLite splits inserts at 999 parameters, so a
        # step takes up to ~10 statements there: still bounded, never one per row.
        limit = 15 if connection.vendor == "postgresql" else 45
        assert len(ctx.captured_queries) <= limit, [q["sql"][:120] for q in ctx.captured_queries]
        assert Contact.objects.for_company(company).count() == 1000
        assert Contact.objects.get(phone=phone(30_000_005)).attributes == {"name": "N5", "age": 5}

    def test_query_count_does_not_depend_on_the_number_of_rows(self, company):
        def run(n, start):  # half the numbers exist already (updated), half are new (created)
            make_contacts(company, n // 2, start=start, attributes={"name": "old"})
            rows = [{"phone": phone(start + i), "attributes": {"city": "x"}, "tags": ["a"]} for i in range(n)]
            with CaptureQueriesContext(connection) as ctx:
                services.bulk_upsert_contacts(actor=Actor.system(company), company=company, rows=rows,
                                              duplicates="enrich", tags=["b"])
            return len(ctx.captured_queries)

        run(2, 39_000_000)  # creates the tags
        few = run(6, 40_000_000)
        many = run(90, 41_000_000)  # below SQLite's 999-parameter split, so both databases compare
        assert few == many


@pytest.mark.django_db
class TestAudit:
    def test_one_event_with_a_line_per_written_row(self, client, company, keyed):
        access, _ = keyed
        [existing] = make_contacts(company, 1, attributes={"name": "Old"})
        new_number = phone()
        bulk(client, [{"phone": new_number}, {"phone": existing.phone, "attributes": {"name": "New"}},
                      {"phone": "bad"}], duplicates="override")
        event = last_event("Bulk upsert of contacts", company)
        assert event.action == "Bulk upsert of contacts: 1 created, 1 updated, 0 skipped, 1 rejected"
        assert event.api_access == access and event.api_access_name == KEY_NAME
        assert event.ip_address == "198.51.100.7"
        details = {d.operation: d for d in event.details.all()}
        assert details[AuditDetail.Operation.INSERT].new_value["phone"] == new_number
        update = details[AuditDetail.Operation.UPDATE]
        assert update.object_id == str(existing.pk)
        assert (update.old_value["attributes"], update.new_value["attributes"]) == ({"name": "Old"}, {"name": "New"})


@pytest.mark.django_db
class TestScopeAndTenancy:
    def test_scope_required(self, company):
        _, key = factories.api_access(company, scopes=["crm"])
        body = assert_api_error(key_client(key).post(URL, {"contacts": [{"phone": phone()}]}, format="json"), 403)
        assert "recipients" in body["message"]
        assert not Contact.objects.exists()

    def test_other_companys_number_is_a_new_contact_here(self, client, company, other_company):
        [theirs] = make_contacts(other_company, 1, attributes={"name": "Theirs"})
        response = bulk(client, [{"phone": theirs.phone, "attributes": {"name": "Mine"}}], duplicates="override")
        assert statuses(response) == ["created"]
        mine = Contact.objects.get(pk=response.json()["results"][0]["id"])
        assert mine.company == company and mine.pk != theirs.pk
        theirs.refresh_from_db()
        assert theirs.attributes == {"name": "Theirs"}

    def test_their_tags_are_not_reused(self, client, company, other_company):
        Tag.objects.create(company=other_company, name="vip")
        response = bulk(client, [{"phone": phone()}], tags=["vip"])
        tag = Contact.objects.get(pk=response.json()["results"][0]["id"]).tags.get()
        assert tag.company == company


@pytest.mark.django_db
class TestServiceCalls:
    def test_too_many_rows_refused_by_the_service_too(self, company):
        with pytest.raises(ValidationError):
            services.bulk_upsert_contacts(actor=Actor.system(company), company=company,
                                          rows=[{"phone": phone()}] * (services.MAX_BULK_ROWS + 1))

    def test_unknown_mode_refused(self, company):
        with pytest.raises(ValidationError):
            services.bulk_upsert_contacts(actor=Actor.system(company), company=company, rows=[], duplicates="x")

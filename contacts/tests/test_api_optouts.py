"""/api/v1/contacts/{id}/opt-outs: list, opt out, opt back in (scope recipients,
tenant-scoped, audited; the rules are contacts.services.optouts')."""

import pytest

from contacts import services
from contacts.api.testing import KEY_NAME, count_queries, last_event, make_contacts, recipients_client
from contacts.models import OptOut, OptOutWord
from portal.api.testing import assert_api_error, key_client
from portal.audit import Actor
from portal.models import AuditDetail
from portal.testing import factories


@pytest.fixture
def keyed(company):
    return recipients_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


@pytest.fixture
def contact(company):
    return make_contacts(company, 1)[0]


def url(contact):
    return f"/api/v1/contacts/{contact.pk}/opt-outs"


@pytest.mark.django_db
class TestOptOut:
    def test_opt_out_of_a_sender_then_of_the_whole_channel(self, client, contact, company, keyed):
        response = client.post(url(contact), {"channel": 1, "sender": " ACME "}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"id", "channel", "sender", "source", "word", "user", "created_at"}
        assert (body["channel"], body["sender"], body["source"], body["word"], body["user"]) == (1, "ACME", "api",
                                                                                                 None, None)
        assert client.post(url(contact), {"channel": 4}, format="json").status_code == 201
        assert set(OptOut.objects.filter(contact=contact).values_list("channel", "sender")) == {(1, "ACME"), (4, "")}
        event = last_event("Opted contact out", company)
        assert event.api_access == keyed[0] and event.api_access_name == KEY_NAME
        assert event.details.get().operation == AuditDetail.Operation.INSERT

    def test_again_is_200_with_the_existing_record(self, client, contact):
        first = client.post(url(contact), {"channel": 1}, format="json").json()
        again = client.post(url(contact), {"channel": "1", "sender": ""}, format="json")
        assert again.status_code == 200 and again.json() == first
        assert OptOut.objects.filter(contact=contact).count() == 1

    def test_shows_on_the_contact(self, client, contact):
        client.post(url(contact), {"channel": 3, "sender": "ACME"}, format="json")
        [opt_out] = client.get(f"/api/v1/contacts/{contact.pk}").json()["opt_outs"]
        assert (opt_out["channel"], opt_out["sender"], opt_out["source"]) == (3, "ACME", "api")

    def test_bad_input_is_422(self, client, contact):
        for body, field in [({}, "channel"), ({"channel": 99}, "channel"), ({"channel": "sms"}, "channel"),
                            ({"channel": 1, "sender": "x" * 65}, "sender"), ({"channel": 1, "word": "STOP"}, "word")]:
            errors = assert_api_error(client.post(url(contact), body, format="json"), 422)["errors"]
            assert field in errors, (body, errors)
        assert not OptOut.objects.exists()


@pytest.mark.django_db
class TestList:
    def test_list_with_word_and_user(self, client, contact, company, admin_user):
        word = OptOutWord.objects.create(company=company, word="STOP", channel=1)
        services.opt_out(Actor.system(company), contact, 1, "", source="word", word=word)
        services.opt_out(Actor(user=admin_user, company=company), contact, 2, "ACME")
        body = client.get(url(contact)).json()
        assert set(body) == {"next", "previous", "results"}
        rows = {(r["channel"], r["sender"]): r for r in body["results"]}
        assert rows[(1, "")]["word"] == "STOP" and rows[(1, "")]["source"] == "word"
        assert rows[(2, "ACME")]["user"] == admin_user.login and rows[(2, "ACME")]["source"] == "user"

    def test_empty(self, client, contact):
        assert client.get(url(contact)).json()["results"] == []


@pytest.mark.django_db
class TestOptIn:
    def test_removes_only_that_scope(self, client, contact, company, keyed):
        for channel, sender in [(1, "ACME"), (1, ""), (1, "OTHER")]:
            services.opt_out(Actor.system(company), contact, channel, sender)
        response = client.delete(f"{url(contact)}?channel=1&sender=ACME")
        assert response.status_code == 200, response.content
        assert response.json() == {"channel": 1, "sender": "ACME", "removed": 1}
        assert set(OptOut.objects.filter(contact=contact).values_list("sender", flat=True)) == {"", "OTHER"}
        assert client.delete(f"{url(contact)}?channel=1").json()["removed"] == 1
        assert set(OptOut.objects.filter(contact=contact).values_list("sender", flat=True)) == {"OTHER"}
        event = last_event("Opted contact back in", company)
        assert event.api_access == keyed[0]
        assert event.details.get().operation == AuditDetail.Operation.DELETE

    def test_nothing_to_remove_is_0(self, client, contact):
        assert client.delete(f"{url(contact)}?channel=2").json() == {"channel": 2, "sender": "", "removed": 0}

    def test_with_method_override_and_query_key(self, company, contact):
        _, raw = factories.api_access(company, scopes=["recipients"])
        services.opt_out(Actor.system(company), contact, 1, "")
        from rest_framework.test import APIClient

        response = APIClient().post(f"{url(contact)}?_method=DELETE&channel=1&access_token={raw}")
        assert response.status_code == 200, response.content
        assert response.json()["removed"] == 1

    def test_channel_required(self, client, contact):
        assert "channel" in assert_api_error(client.delete(url(contact)), 422)["errors"]
        assert "channel" in assert_api_error(client.delete(f"{url(contact)}?channel=x"), 422)["errors"]


@pytest.mark.django_db
class TestScopeAndTenancy:
    def test_scope_required(self, company, contact):
        services.opt_out(Actor.system(company), contact, 1, "")
        _, key = factories.api_access(company, scopes=["crm", "omni-api"])
        c = key_client(key)
        assert_api_error(c.get(url(contact)), 403)
        assert_api_error(c.post(url(contact), {"channel": 2}, format="json"), 403)
        assert_api_error(c.delete(f"{url(contact)}?channel=1"), 403)
        assert list(OptOut.objects.values_list("channel", flat=True)) == [1]

    def test_their_contact_is_404(self, client, other_company):
        [theirs] = make_contacts(other_company, 1)
        services.opt_out(Actor.system(other_company), theirs, 1, "")
        assert_api_error(client.get(url(theirs)), 404)
        assert_api_error(client.post(url(theirs), {"channel": 2}, format="json"), 404)
        assert_api_error(client.delete(f"{url(theirs)}?channel=1"), 404)
        assert list(OptOut.objects.filter(contact=theirs).values_list("channel", flat=True)) == [1]


@pytest.mark.django_db
def test_list_query_count_does_not_grow(client, contact, company, django_assert_max_num_queries):
    word = OptOutWord.objects.create(company=company, word="STOP", channel=1)
    senders = iter(f"S{i}" for i in range(100))

    def add(n):
        for _ in range(n):
            services.opt_out(Actor.system(company), contact, 1, next(senders), source="word", word=word)

    add(5)
    few, n_few = count_queries(client, url(contact))
    add(45)
    with django_assert_max_num_queries(few):
        many, n_many = count_queries(client, url(contact))
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 3  # key, contact, page (user and word joined)

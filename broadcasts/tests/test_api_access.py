"""Who may use the Broadcasts API: another company's key gets 404 on every {id} endpoint and
never sees or changes another company's broadcasts and templates; a key without the
``broadcast`` scope gets 403 everywhere; no key is 401."""

import pytest
from rest_framework.test import APIClient

from broadcasts.api.testing import broadcast_client
from broadcasts.models import Broadcast, BroadcastStatus, BroadcastTemplate
from broadcasts.tests import factories as bf
from portal.api.testing import assert_api_error

B, T = "/api/v1/broadcasts", "/api/v1/broadcast-templates"

ID_ENDPOINTS = [
    ("get", B + "/{b}"), ("get", B + "/{b}/recipients"), ("post", B + "/{b}/launch"), ("post", B + "/{b}/pause"),
    ("post", B + "/{b}/resume"), ("post", B + "/{b}/stop"), ("post", B + "/{b}/relaunch-failed"),
    ("get", T + "/{t}"), ("post", T + "/{t}/launch"),
]
ALL_ENDPOINTS = [("get", B), ("post", B), ("get", T), ("post", T), *ID_ENDPOINTS]


@pytest.fixture
def theirs(other_company):
    """Another company's running broadcast and template."""
    return (bf.broadcast(other_company, name="Their sale", status=BroadcastStatus.IN_PROGRESS),
            bf.template(other_company, name="Their template"))


@pytest.fixture
def mine(company):
    return bf.broadcast(company, name="My draft"), bf.template(company, name="My template")


def call(client, method, url, broadcast, template):
    url = url.format(b=broadcast.pk, t=template.pk)
    if method == "post":
        return client.post(url, {}, format="json")
    return client.get(url)


@pytest.mark.django_db
class TestOtherCompany:
    @pytest.mark.parametrize("method, url", ID_ENDPOINTS)
    def test_their_ids_are_404(self, company, theirs, method, url):
        _access, client = broadcast_client(company)
        body = assert_api_error(call(client, method, url, *theirs), 404)
        assert body["message"] == "Not found."
        broadcast, template = theirs
        broadcast.refresh_from_db()
        template.refresh_from_db()
        assert broadcast.status == BroadcastStatus.IN_PROGRESS and template.launches == 0
        assert Broadcast.objects.count() == 1  # no run was made from their template

    def test_lists_show_only_mine(self, company, theirs, mine):
        _access, client = broadcast_client(company)
        assert [r["name"] for r in client.get(B).json()["results"]] == ["My draft"]
        assert [r["name"] for r in client.get(T).json()["results"]] == ["My template"]
        assert client.get(B, {"name": "Their"}).json()["results"] == []
        assert client.get(B, {"templateId": theirs[1].pk}).json()["results"] == []

    def test_their_targets_and_tags_cannot_be_recipients(self, company, other_company):
        from contacts.models import Tag, Target

        tag = Tag.objects.create(company=other_company, name="vip")
        target = Target.objects.create(company=other_company, name="All", filters=[])
        _access, client = broadcast_client(company)
        body = {"name": "Sneaky", "recipients": {"tags": [tag.pk], "targets": [target.pk]}}
        for url in (B, T):
            errors = assert_api_error(client.post(url, body, format="json"), 422)["errors"]
            assert errors["recipients.tags"] == [f"There is no tag {tag.pk} in your company."]
            assert errors["recipients.targets"] == [f"There is no target {target.pk} in your company."]
        assert not Broadcast.objects.filter(company=company).exists()
        assert not BroadcastTemplate.objects.filter(company=company).exists()


@pytest.mark.django_db
class TestScope:
    @pytest.mark.parametrize("method, url", ALL_ENDPOINTS)
    def test_without_the_broadcast_scope_403(self, company, mine, method, url):
        _access, client = broadcast_client(company, scopes=("recipients", "omni-api", "crm"))
        body = assert_api_error(call(client, method, url, *mine), 403)
        assert body["message"] == "This API key lacks the 'broadcast' scope."
        assert Broadcast.objects.count() == 1 and BroadcastTemplate.objects.count() == 1

    @pytest.mark.parametrize("method, url", [("get", B), ("post", B), ("post", T + "/{t}/launch")])
    def test_without_a_key_401(self, company, mine, method, url):
        assert_api_error(call(APIClient(), method, url, *mine), 401)

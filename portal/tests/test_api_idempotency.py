"""``Idempotency-Key`` on every POST of the API (portal/api/idempotency.py), shown on the
contacts, departments and imports endpoints: replay, other body, in progress, 4xx kept,
5xx released, expiry, per-key scope, bad keys, and the concurrent first requests race."""

import json
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts.models import Department
from contacts import services as contact_services
from contacts.api.testing import phone, recipients_client
from contacts.models import Contact, ContactImport
from portal.api import idempotency
from portal.api.testing import assert_api_error, key_client
from portal.models import IdempotencyKey
from portal.testing import factories

URL = "/api/v1/contacts"


@pytest.fixture
def keyed(company):
    return recipients_client(company, scopes=("recipients", "crm"))


@pytest.fixture
def client(keyed):
    return keyed[1]


def post(client, body, key, url=URL, **extra):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def contacts(company):
    return Contact.objects.for_company(company)


@pytest.mark.django_db
class TestReplay:
    def test_same_key_and_body_replays_the_first_response_without_a_second_contact(self, client, company):
        number = phone()
        first = post(client, {"phone": number, "tags": ["vip"]}, "order-1042")
        assert first.status_code == 201, first.content
        assert idempotency.REPLAYED_HEADER not in first
        again = post(client, {"phone": number, "tags": ["vip"]}, "order-1042")
        assert again.status_code == 201
        assert again.content == first.content
        assert again[idempotency.REPLAYED_HEADER] == "true"
        assert again["Content-Type"] == "application/json"
        assert contacts(company).count() == 1
        row = IdempotencyKey.objects.get(key="order-1042")
        assert row.state == IdempotencyKey.State.DONE and row.status_code == 201

    def test_json_compared_by_value_not_by_bytes(self, client, company):
        number = phone()
        first = client.post(URL, data=json.dumps({"phone": number, "attributes": {"name": "Ann"}}),
                            content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert first.status_code == 201
        reordered = client.post(URL, data='{ "attributes" : {"name":"Ann"},\n "phone": "' + number + '" }',
                                content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert reordered.status_code == 201 and reordered[idempotency.REPLAYED_HEADER] == "true"
        assert reordered.content == first.content
        assert contacts(company).count() == 1

    def test_without_the_header_every_post_runs(self, client, company):
        assert client.post(URL, {"phone": phone()}, format="json").status_code == 201
        assert client.post(URL, {"phone": phone()}, format="json").status_code == 201
        assert contacts(company).count() == 2
        assert not IdempotencyKey.objects.exists()

    def test_another_key_value_runs_the_request(self, client, company):
        number = phone()
        assert post(client, {"phone": number}, "a").status_code == 201
        body = assert_api_error(post(client, {"phone": number}, "b"), 422)
        assert "already exists" in body["errors"]["phone"][0]

    def test_location_header_is_replayed(self, client, company, django_capture_on_commit_callbacks):
        csv = b"Phone,Name\n+34612000901,Ana\n"

        def upload(name="c.csv", content=csv):
            with django_capture_on_commit_callbacks(execute=True):
                return client.post("/api/v1/imports", {"file": SimpleUploadedFile(name, content, "text/csv")},
                                   format="multipart", HTTP_IDEMPOTENCY_KEY="import-1")

        first = upload()
        assert first.status_code == 201, first.content
        again = upload()  # a new multipart boundary, the same file: the same request
        assert again.status_code == 201 and again[idempotency.REPLAYED_HEADER] == "true"
        assert again["Location"] == first["Location"] and again.content == first.content
        assert ContactImport.objects.filter(company=company).count() == 1
        other_file = upload(content=b"Phone,Name\n+34612000902,Bob\n")
        body = assert_api_error(other_file, 422)
        assert "already used for another request" in body["message"]
        assert ContactImport.objects.filter(company=company).count() == 1

    def test_departments_post_honours_it_too(self, client, company):
        first = post(client, {"name": "Sales"}, "dep-1", url="/api/v1/departments")
        assert first.status_code == 201, first.content
        again = post(client, {"name": "Sales"}, "dep-1", url="/api/v1/departments")
        assert again.status_code == 201 and again.content == first.content
        assert again[idempotency.REPLAYED_HEADER] == "true"
        assert Department.objects.for_company(company).filter(name="Sales").count() == 1

    def test_bulk_upsert_replayed(self, client, company):
        body = {"contacts": [{"phone": phone()}, {"phone": phone()}]}
        first = post(client, body, "bulk-1", url=f"{URL}/bulk")
        assert first.json()["created"] == 2
        again = post(client, body, "bulk-1", url=f"{URL}/bulk")
        assert again.json() == {**first.json()} and again[idempotency.REPLAYED_HEADER] == "true"
        assert contacts(company).count() == 2


@pytest.mark.django_db
class TestMismatch:
    def test_same_key_other_body_is_422_and_runs_nothing(self, client, company):
        assert post(client, {"phone": phone()}, "k").status_code == 201
        body = assert_api_error(post(client, {"phone": phone()}, "k"), 422)
        assert body["message"] == ("This Idempotency-Key was already used for another request (POST "
                                   "/api/v1/contacts with a different body). Send a new key for a new request.")
        assert idempotency.REPLAYED_HEADER not in body
        assert contacts(company).count() == 1

    def test_same_key_same_body_other_path_is_422(self, client, company):
        assert post(client, {"name": "vip"}, "k", url="/api/v1/tags").status_code == 201
        body = assert_api_error(post(client, {"name": "vip"}, "k", url="/api/v1/departments"), 422)
        assert "POST /api/v1/tags" in body["message"]
        assert not Department.objects.for_company(company).filter(name="vip").exists()

    def test_query_string_is_part_of_the_request(self, client, company):
        contact = contacts(company).get(pk=post(client, {"phone": phone()}, "c").json()["id"])
        url = f"{URL}/{contact.pk}/tags"
        assert post(client, {"tags": ["a"]}, "t", url=url).status_code == 200
        assert_api_error(post(client, {"tags": ["a"]}, "t", url=url + "?x=1"), 422)

    def test_the_access_token_parameter_is_not_part_of_the_request(self, company):
        access, raw = factories.api_access(company, scopes=["recipients"])
        number = phone()
        from rest_framework.test import APIClient

        anon = APIClient()
        first = anon.post(f"{URL}?access_token={raw}", {"phone": number}, format="json", HTTP_IDEMPOTENCY_KEY="q")
        assert first.status_code == 201, first.content
        again = key_client(raw).post(URL, {"phone": number}, format="json", HTTP_IDEMPOTENCY_KEY="q")
        assert again.status_code == 201 and again[idempotency.REPLAYED_HEADER] == "true"
        row = IdempotencyKey.objects.get(key="q")
        assert raw not in row.path


@pytest.mark.django_db
class TestInProgress:
    def test_a_retry_while_the_first_runs_is_409_with_retry_after(self, client, company, monkeypatch):
        number = phone()
        seen = {}
        real = contact_services.create_contact

        def slow_create(**kwargs):
            # the client retries while the first request is still being served
            seen["retry"] = post(client, {"phone": number}, "busy")
            return real(**kwargs)

        monkeypatch.setattr(contact_services, "create_contact", slow_create)
        first = post(client, {"phone": number}, "busy")
        assert first.status_code == 201, first.content
        body = assert_api_error(seen["retry"], 409)
        assert "still being processed" in body["message"]
        assert seen["retry"]["Retry-After"] == "1"
        assert contacts(company).count() == 1
        monkeypatch.setattr(contact_services, "create_contact", real)
        assert post(client, {"phone": number}, "busy")[idempotency.REPLAYED_HEADER] == "true"

    def test_other_body_while_in_progress_is_422(self, client, company, monkeypatch):
        seen = {}
        real = contact_services.create_contact

        def slow_create(**kwargs):
            seen["retry"] = post(client, {"phone": phone()}, "busy")
            return real(**kwargs)

        monkeypatch.setattr(contact_services, "create_contact", slow_create)
        assert post(client, {"phone": phone()}, "busy").status_code == 201
        assert_api_error(seen["retry"], 422)

    def test_a_run_left_by_a_dead_worker_is_taken_over_after_the_stale_time(self, client, company, settings,
                                                                              monkeypatch):
        settings.HERALD_IDEMPOTENCY_STALE_SECONDS = 300
        number = phone()
        real = contact_services.create_contact

        def crash(**kwargs):
            raise RuntimeError("worker killed")

        monkeypatch.setattr(contact_services, "create_contact", crash)
        monkeypatch.setattr(idempotency, "release", lambda row: None)  # a killed process cleans nothing up
        client.raise_request_exception = False  # answer the JSON 500 as a server would
        assert_api_error(post(client, {"phone": number}, "dead"), 500)
        monkeypatch.undo()
        assert IdempotencyKey.objects.get(key="dead").state == IdempotencyKey.State.IN_PROGRESS
        assert_api_error(post(client, {"phone": number}, "dead"), 409)
        IdempotencyKey.objects.filter(key="dead").update(locked_at=timezone.now() - timedelta(seconds=301))
        assert contact_services.create_contact is real
        response = post(client, {"phone": number}, "dead")
        assert response.status_code == 201, response.content
        assert contacts(company).count() == 1
        assert IdempotencyKey.objects.get(key="dead").state == IdempotencyKey.State.DONE


@pytest.mark.django_db
class TestWhatIsStored:
    def test_a_4xx_is_stored_and_replayed(self, client, company):
        number = phone()
        created = post(client, {"phone": number}, "first")
        duplicate = assert_api_error(post(client, {"phone": number}, "second"), 422)
        contacts(company).filter(pk=created.json()["id"]).delete()
        replay = post(client, {"phone": number}, "second")
        assert replay.status_code == 422 and replay[idempotency.REPLAYED_HEADER] == "true"
        assert replay.json() == duplicate
        assert not contacts(company).exists()

    def test_a_404_is_stored(self, client):
        missing = post(client, {"tags": ["x"]}, "nf", url=f"{URL}/999999/tags")
        assert_api_error(missing, 404)
        assert post(client, {"tags": ["x"]}, "nf", url=f"{URL}/999999/tags")[idempotency.REPLAYED_HEADER] == "true"

    def test_a_5xx_releases_the_key_so_the_retry_runs(self, client, company, monkeypatch):
        number = phone()
        real = contact_services.create_contact

        def broken(**kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr(contact_services, "create_contact", broken)
        client.raise_request_exception = False  # answer the JSON 500 as a server would
        assert_api_error(post(client, {"phone": number}, "flaky"), 500)
        assert not IdempotencyKey.objects.filter(key="flaky").exists()
        monkeypatch.setattr(contact_services, "create_contact", real)
        retry = post(client, {"phone": number}, "flaky")
        assert retry.status_code == 201 and idempotency.REPLAYED_HEADER not in retry
        assert contacts(company).count() == 1

    def test_an_unhandled_exception_in_debug_releases_the_key(self, client, settings, monkeypatch):
        settings.DEBUG = True

        def broken(**kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(contact_services, "create_contact", broken)
        with pytest.raises(RuntimeError):
            post(client, {"phone": phone()}, "debug")
        assert not IdempotencyKey.objects.filter(key="debug").exists()

    def test_refused_requests_do_not_use_the_key(self, company):
        _access, no_scope = recipients_client(company, name="CRM only", scopes=("crm",))
        assert_api_error(post(no_scope, {"phone": phone()}, "k"), 403)
        assert_api_error(key_client("nope").post(URL, {"phone": phone()}, format="json",
                                                 HTTP_IDEMPOTENCY_KEY="k"), 401)
        assert not IdempotencyKey.objects.exists()

    def test_a_throttled_request_does_not_use_the_key(self, client, company, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                                   "DEFAULT_THROTTLE_RATES": {"api_key": "1/min"}}
        # recipients_client already spent this minute's one request on /me
        assert_api_error(post(client, {"phone": phone()}, "t"), 429)
        assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
class TestScopeAndExpiry:
    def test_keys_are_per_api_access(self, client, company, other_company):
        _a, second = recipients_client(company, name="Second key")
        _b, theirs = recipients_client(other_company, name="Their key")
        assert post(client, {"phone": phone()}, "shared").status_code == 201
        mine = post(second, {"phone": phone()}, "shared")
        assert mine.status_code == 201 and idempotency.REPLAYED_HEADER not in mine
        other = post(theirs, {"phone": phone()}, "shared")
        assert other.status_code == 201 and idempotency.REPLAYED_HEADER not in other
        assert contacts(company).count() == 2 and contacts(other_company).count() == 1
        assert IdempotencyKey.objects.filter(key="shared").count() == 3

    def test_an_expired_key_can_be_used_again(self, client, company):
        number = phone()
        first = post(client, {"phone": number}, "old")
        IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
        contacts(company).filter(pk=first.json()["id"]).delete()
        again = post(client, {"phone": phone()}, "old")  # even with another body
        assert again.status_code == 201 and idempotency.REPLAYED_HEADER not in again
        assert IdempotencyKey.objects.filter(key="old").count() == 1

    def test_purge_deletes_only_expired_keys(self, client):
        post(client, {"phone": phone()}, "fresh")
        post(client, {"phone": phone()}, "stale")
        IdempotencyKey.objects.filter(key="stale").update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
        assert idempotency.purge_expired() == 1
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.django_db
class TestBadKeys:
    @pytest.mark.parametrize("key", ["", "   ", "x" * 256, "clé-1", "tab\there", "line\x01"])
    def test_malformed_key_is_400_saying_what_is_allowed(self, client, company, key):
        body = assert_api_error(post(client, {"phone": phone()}, key), 400)
        assert body["message"] == idempotency.INVALID_MESSAGE
        assert not contacts(company).exists()

    def test_longest_key_and_punctuation_are_fine(self, client):
        key = "A-z0_9:./+=@!~ " + "k" * 240
        assert len(key) == 255
        assert post(client, {"phone": phone()}, key).status_code == 201
        assert post(client, {"phone": phone()}, "550e8400-e29b-41d4-a716-446655440000").status_code == 201

    def test_the_header_is_ignored_on_other_methods(self, client, company):
        contact_id = post(client, {"phone": phone()}, "c").json()["id"]
        assert client.get(URL, HTTP_IDEMPOTENCY_KEY="").status_code == 200
        patch = client.patch(f"{URL}/{contact_id}", {"attributes": {"name": "Ann"}}, format="json",
                             HTTP_IDEMPOTENCY_KEY="c")
        assert patch.status_code == 200 and idempotency.REPLAYED_HEADER not in patch
        assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_schema_documents_the_header_on_every_post():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    posts = [(path, item["post"]) for path, item in schema["paths"].items() if "post" in item]
    assert posts
    for path, operation in posts:
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert "Idempotency-Key" in names, path
    for path, item in schema["paths"].items():
        for method in set(item) - {"post"}:
            names = [p["name"] for p in item[method].get("parameters", [])]
            assert "Idempotency-Key" not in names, (method, path)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="needs real concurrent connections (PostgreSQL)")
def test_two_concurrent_first_requests_run_exactly_once(company):
    """Two threads send the same first request with the same key at the same moment; the
    unique constraint lets exactly one run (201) and the other answers 409 — one contact.

    PostgreSQL only: SQLite's in-memory test database cannot serve two writing connections
    at once (the second fails with "database table is locked" instead of waiting), so it
    cannot show the race honestly; the sequential cases above run on both databases.
    """
    _access, raw = factories.api_access(company, scopes=["recipients"])
    number = phone()
    start = threading.Barrier(2)
    loser_answered = threading.Event()
    real = contact_services.create_contact
    statuses = []

    def slow_create(**kwargs):
        loser_answered.wait(10)  # keep the winner in progress until the other one has its answer
        return real(**kwargs)

    def request():
        try:
            client = key_client(raw)
            start.wait(5)
            response = post(client, {"phone": number}, "race")
            statuses.append(response.status_code)
            if response.status_code != 201:
                loser_answered.set()
        finally:
            connection.close()

    contact_services.create_contact = slow_create
    try:
        threads = [threading.Thread(target=request) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        contact_services.create_contact = real
    assert sorted(statuses) == [201, 409]
    assert Contact.objects.for_company(company).count() == 1
    row = IdempotencyKey.objects.get(key="race")
    assert row.state == IdempotencyKey.State.DONE and row.status_code == 201

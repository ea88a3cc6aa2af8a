"""The API's error shape: JSON 404 for unknown paths, 404/405/422/500 bodies, and the
``?_method=`` override."""

import logging

import pytest
from rest_framework.test import APIClient

from accounts.api import views
from accounts.models import Department
from portal.api.testing import assert_api_error, key_client


@pytest.mark.django_db
class TestUnknownPaths:
    @pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/", "/api/", "/api/v2/sms/send",
                                      "/api/v1/users/1/roles"])
    def test_json_404(self, path, api_client):
        body = assert_api_error(api_client.get(path), 404)
        assert path in body["message"]

    def test_json_404_without_a_key(self):
        assert_api_error(APIClient().get("/api/v1/nothing-here"), 404)

    def test_post_to_unknown_path_is_json_404_not_csrf_403(self):
        client = APIClient(enforce_csrf_checks=True)
        assert_api_error(client.post("/api/v1/nothing-here", {"a": 1}, format="json"), 404)

    def test_trailing_slash_names_the_right_path(self, api_client):
        body = assert_api_error(api_client.get("/api/v1/users/"), 404)
        assert "Did you mean /api/v1/users (no trailing slash)?" in body["message"]

    def test_html_404_outside_the_api_is_untouched(self, client):
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
class TestErrorBodies:
    def test_404_object(self, api_client):
        body = assert_api_error(api_client.get("/api/v1/departments/999999"), 404)
        assert body == {"status": "ERROR", "code": 404, "message": "Not found."}

    def test_405(self, api_client):
        response = api_client.delete("/api/v1/users")
        body = assert_api_error(response, 405)
        assert body["message"] == 'Method "DELETE" not allowed.'
        assert "GET" in response["Allow"]

    def test_422_field_errors(self, api_client):
        body = assert_api_error(api_client.post("/api/v1/departments", {"name": ""}, format="json"), 422)
        assert set(body) == {"status", "code", "message", "errors"}
        assert body["errors"] == {"name": ["This field may not be blank."]}
        assert body["message"].startswith("Validation failed: name:")

    def test_errors_are_json_even_for_a_browser(self, api_client):
        response = api_client.get("/api/v1/departments/999999", HTTP_ACCEPT="text/html,*/*;q=0.8")
        assert_api_error(response, 404)

    def test_500_is_json_and_logged(self, api_client, monkeypatch, caplog):
        def boom(company):
            raise RuntimeError("database on fire")

        monkeypatch.setattr(views.UserViewSet, "selector", staticmethod(boom))
        api_client.raise_request_exception = False
        with caplog.at_level(logging.ERROR, logger="django.request"):
            response = api_client.get("/api/v1/users")
        body = assert_api_error(response, 500)
        assert "database on fire" not in body["message"]
        assert any("Internal Server Error: /api/v1/users" in r.getMessage() for r in caplog.records)

    def test_500_reaches_the_test_client_like_any_django_500(self, api_client, monkeypatch):
        def boom(company):
            raise RuntimeError("database on fire")

        monkeypatch.setattr(views.UserViewSet, "selector", staticmethod(boom))
        with pytest.raises(RuntimeError, match="database on fire"):
            api_client.get("/api/v1/users")


@pytest.mark.django_db
class TestMethodOverride:
    def test_post_with_method_override_becomes_that_method(self, api_client, company):
        dept = Department.objects.for_company(company).first()
        body = assert_api_error(api_client.post(f"/api/v1/departments/{dept.pk}?_method=DELETE"), 405)
        assert body["message"] == 'Method "DELETE" not allowed.'
        body = assert_api_error(api_client.post(f"/api/v1/departments/{dept.pk}?_method=put", {"name": "X"}), 405)
        assert body["message"] == 'Method "PUT" not allowed.'

    def test_get_is_never_overridden(self, api_client, company):
        dept = Department.objects.for_company(company).first()
        response = api_client.get(f"/api/v1/departments/{dept.pk}", {"_method": "DELETE"})
        assert response.status_code == 200
        assert Department.objects.filter(pk=dept.pk).exists()

    def test_unsupported_override_is_400(self, api_client):
        body = assert_api_error(api_client.post("/api/v1/departments?_method=GET", {"name": "X"}), 400)
        assert "_method=GET" in body["message"]
        assert not Department.objects.filter(name="X").exists()

    def test_override_still_needs_a_valid_key(self, company):
        dept = Department.objects.for_company(company).first()
        assert_api_error(key_client("bad").post(f"/api/v1/departments/{dept.pk}?_method=DELETE"), 401)

"""The OpenAPI 3 schema (generated without warnings) and the Swagger UI page."""

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_validates_without_warnings(tmp_path):
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()  # count only this run's warnings
    out = tmp_path / "schema.yml"
    # Raises (SystemExit / CommandError) on any warning or an invalid OpenAPI document.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert set(paths) >= {"/api/v1/me", "/api/v1/users", "/api/v1/users/{id}", "/api/v1/departments",
                          "/api/v1/departments/{id}"}
    assert set(paths["/api/v1/departments"]) == {"get", "post"}
    assert set(paths["/api/v1/users"]) == {"get"}


@pytest.mark.django_db
def test_every_operation_is_documented_with_examples_and_errors():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, op in item.items():
            assert op.get("summary"), (method, path)
            assert op["security"] == [{"ApiKeyHeader": []}, {"BearerAuth": []}, {"AccessTokenQuery": []}]
            ok = op["responses"].get("200") or op["responses"].get("201") or op["responses"].get("202")
            assert ok["content"]["application/json"].get("examples"), (method, path)
            assert {"401", "403", "429"} <= set(op["responses"]), (method, path)
            if "{id}" in path:
                assert "404" in op["responses"], (method, path)
            if method == "post":
                assert "422" in op["responses"], (method, path)


@pytest.mark.django_db
def test_security_schemes_are_alternatives():
    from drf_spectacular.generators import SchemaGenerator

    schemes = SchemaGenerator().get_schema(request=None, public=True)["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                       "description": schemes["ApiKeyHeader"]["description"]}
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert schemes["AccessTokenQuery"]["in"] == "query"
    assert schemes["AccessTokenQuery"]["name"] == "access_token"


@pytest.mark.django_db
def test_schema_is_served_without_a_key(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/me" in response.json()["paths"]


@pytest.mark.django_db
def test_swagger_ui_uses_our_static_files_not_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/swagger-ui/" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/api/schema/" in html


@pytest.mark.django_db
def test_schema_as_json_with_format_parameter(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")

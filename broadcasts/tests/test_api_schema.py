"""The Broadcasts API in the OpenAPI schema: every endpoint, documented with a summary,
examples and its errors; the examples have exactly the fields the API answers with."""

import pytest

from broadcasts.api import examples as ex
from broadcasts.api.serializers import (
    BroadcastDetailOutput,
    BroadcastInput,
    BroadcastOutput,
    BroadcastTemplateInput,
    BroadcastTemplateOutput,
    RecipientOutput,
    StatisticsOutput,
    StepStatisticsOutput,
)

OPERATIONS = {
    ("/api/v1/broadcasts", "get"), ("/api/v1/broadcasts", "post"), ("/api/v1/broadcasts/{id}", "get"),
    ("/api/v1/broadcasts/{id}/launch", "post"), ("/api/v1/broadcasts/{id}/pause", "post"),
    ("/api/v1/broadcasts/{id}/resume", "post"), ("/api/v1/broadcasts/{id}/stop", "post"),
    ("/api/v1/broadcasts/{id}/relaunch-failed", "post"), ("/api/v1/broadcasts/{id}/recipients", "get"),
    ("/api/v1/broadcast-templates", "get"), ("/api/v1/broadcast-templates", "post"),
    ("/api/v1/broadcast-templates/{id}", "get"), ("/api/v1/broadcast-templates/{id}/launch", "post"),
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_every_endpoint_is_in_the_schema(schema):
    found = {(path, method) for path, item in schema["paths"].items() if "/broadcast" in path for method in item}
    assert found == OPERATIONS


@pytest.mark.parametrize("path, method", sorted(OPERATIONS))
def test_each_is_documented_with_examples_scope_and_errors(schema, path, method):
    op = schema["paths"][path][method]
    assert op["summary"] and "`broadcast` scope" in op["description"]
    ok = next(op["responses"][code] for code in ("200", "201") if code in op["responses"])
    assert ok["content"]["application/json"]["examples"]
    assert {"401", "403", "429"} <= set(op["responses"])
    if "{id}" in path:
        assert "404" in op["responses"]
    if method == "post":
        assert "422" in op["responses"]
        assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
    if path.endswith(("/launch", "/pause", "/resume", "/stop", "/relaunch-failed")):
        assert "409" in op["responses"]


def test_create_documents_its_request_examples(schema):
    body = schema["paths"]["/api/v1/broadcasts"]["post"]["requestBody"]["content"]["application/json"]
    assert len(body["examples"]) == 3


def _fields(serializer_class) -> set[str]:
    return set(serializer_class().fields)


def test_response_examples_have_exactly_the_output_fields():
    assert set(ex.BROADCAST) == _fields(BroadcastOutput)
    for example in (ex.BROADCAST_DETAIL, ex.BROADCAST_LAUNCHED, ex.BROADCAST_PAUSED, ex.BROADCAST_ABORTED,
                    ex.BROADCAST_RELAUNCH, ex.TEMPLATE_RUN):
        assert set(example) == _fields(BroadcastDetailOutput)
        assert set(example["statistics"]) == _fields(StatisticsOutput)
        for step in example["statistics"]["steps"]:
            assert set(step) == _fields(StepStatisticsOutput)
    assert set(ex.RECIPIENT) == _fields(RecipientOutput)
    assert set(ex.TEMPLATE) == _fields(BroadcastTemplateOutput)


def test_request_examples_use_only_input_fields():
    for example in (ex.CREATE_LAUNCH, ex.CREATE_SCHEDULED, ex.CREATE_DRAFT):
        assert set(example) <= _fields(BroadcastInput)
    assert set(ex.TEMPLATE_CREATE) <= _fields(BroadcastTemplateInput)

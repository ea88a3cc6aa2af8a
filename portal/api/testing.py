"""Test helpers for every app's API tests."""

from __future__ import annotations

from rest_framework.test import APIClient


def key_client(raw_key: str, **defaults) -> APIClient:
    """An API client sending ``raw_key`` as ``X-API-Key`` (``defaults`` such as REMOTE_ADDR go
    into every request's environ)."""
    client = APIClient(**defaults)
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def assert_api_error(response, code: int) -> dict:
    """The response is the API's JSON error with HTTP status ``code``; returns the body."""
    assert response.status_code == code, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == "ERROR"
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body

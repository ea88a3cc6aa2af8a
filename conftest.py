"""Project-wide pytest set-up: fast password hashing, isolated caches, and the
shared factories as fixtures."""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop in-thread


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Celery reads the Django settings once, when its configuration is first used: set the
    # live value too, so a test that switched eager mode off cannot leak into later tests.
    from portal.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
    from accounts.api import authentication
    from messaging.providers import close_all
    from messaging.services import dispatch, routing

    close_all()  # provider drivers are cached per process (an SMPP bind stays open)
    routing.clear_cache()  # and the active gateways (a rolled-back gateway must not route)
    dispatch._companies.clear()  # and the companies queueing on a gateway (ids repeat on SQLite)
    authentication.clear_cache()  # and the API keys' accesses


from portal.testing.fixtures import *  # noqa: E402,F401,F403

pytest_plugins = ["portal.testing.browser"]  # Playwright fixtures for @pytest.mark.browser tests

"""Browser-test fixtures: Playwright's sync API drives Debian's Chromium against
pytest-django's ``live_server``.

* ``browser``: one headless Chromium for the whole session;
* ``page``: a fresh browser context (cookies, localStorage) per test, 10 s timeouts;
* ``new_page``: more fresh contexts in the same test (a second user);
* ``logged_in_page``: signs a user in through the login form;
* ``base_url``: the live server's address.

When a browser test fails, a screenshot of each of its pages is saved to
``test-artifacts/``.

Browser tests use a transactional database: the data the test creates is committed so
the live server's thread sees it, and the tables are flushed after the test. The
flush also removes the system roles that a data migration created, so ``base_url``
puts them back before each test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell that the test failed."""
    report = yield
    setattr(item, f"_report_{report.when}", report)
    return report


def _failed(node) -> bool:
    return any(getattr(getattr(node, f"_report_{when}", None), "failed", False) for when in ("setup", "call"))


@pytest.fixture(scope="session")
def browser():
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def base_url(live_server) -> str:
    from accounts import services

    services.ensure_system_roles()  # a data migration made them; a previous flush removed them
    return live_server.url


@pytest.fixture
def new_page(browser, base_url, request):
    """A factory of pages, each in its own fresh browser context."""
    contexts = []

    def make():
        context = browser.new_context(base_url=base_url, accept_downloads=True, locale="en-US",
                                      viewport={"width": 1366, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    if _failed(request.node):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        for i, context in enumerate(contexts):
            for j, pg in enumerate(context.pages):
                try:
                    pg.screenshot(path=str(ARTIFACTS / f"{name}-{i}-{j}.png"), full_page=True)
                except Exception:  # a screenshot must never hide the real failure
                    pass
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def sign_in(page, login: str, password: str):
    """Fill in and submit the login form (does not check the outcome)."""
    page.goto("/login/")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    return page


@pytest.fixture
def logged_in_page(page):
    """``logged_in_page(user, password=PASSWORD, page=None)``: sign ``user`` in through the
    form (on the test's ``page`` unless another is given) and wait for the dashboard."""
    from portal.testing.factories import PASSWORD

    def login(user, password: str = PASSWORD, page=page):
        sign_in(page, user.login, password)
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        return page

    return login

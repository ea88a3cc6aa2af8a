"""Browser tests of two-factor authentication (spec §16.2, §1): turn it on in Privacy and
Security with a code sent by SMS, sign out, sign in with the password and a code; turn it
off from the switch. The test reads each code from the SMS the messaging engine created,
as the user would read it on their phone."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from messaging.models import Gateway, Message
from portal.testing import factories
from portal.testing.browser import sign_in

pytestmark = pytest.mark.browser

MASKED = "+34••••••678"
SMS_TEXT = re.compile(r"^Your Herald verification code is (\d{6})\. It expires in 5 minutes\.$")


def code_from_sms(user) -> str:
    row = user.login_codes.order_by("-created_at", "-id").first()
    message = Message.objects.get(pk=row.message_id)
    assert message.address == "+34612345678"
    return SMS_TEXT.match(message.content["text"]).group(1)


@pytest.fixture
def sms_route(db):
    return Gateway.objects.create(name="Sim", channel=1, provider="simulator", settings={"seed": 1})


def test_browser_turn_on_two_factor_then_sign_in_with_a_code(page, logged_in_page, company, sms_route):
    user = factories.user(company, roles=[factories.system_role("broadcast_manager")], login="tina",
                          first_name="Tina", last_name="Tester")
    logged_in_page(user)
    page.goto("/account/security/")
    section = page.get_by_test_id("twofa")
    switch = section.get_by_role("switch", name="Two-factor authentication")
    expect(switch).not_to_be_checked()
    phone = section.get_by_label("Phone number", exact=True)
    expect(phone).to_be_hidden()

    # Toggle → Add phone number → Cancel closes it again.
    switch.click()
    expect(switch).to_be_checked()
    expect(phone).to_be_visible()
    section.get_by_role("link", name="Cancel").click()
    expect(phone).to_be_hidden()
    expect(switch).not_to_be_checked()

    # A number that cannot receive SMS is refused with the reason.
    switch.click()
    phone.fill("91 123 45 67")
    section.get_by_role("button", name="Get verification code").click()
    expect(section.get_by_text("+34911234567 is a landline: enter a mobile number that can receive SMS.")) \
        .to_be_visible()

    section.get_by_label("Phone number", exact=True).fill("612 345 678")
    section.get_by_role("button", name="Get verification code").click()
    expect(section.get_by_text(f"Enter the code we sent to {MASKED}")).to_be_visible()
    code = code_from_sms(user)

    section.get_by_label("Verification code").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    section.get_by_role("button", name="Confirm").click()
    expect(section.get_by_text("The code is not correct. 4 tries left.")).to_be_visible()
    section.get_by_label("Verification code").fill(code)
    section.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("status").filter(has_text="Two-factor authentication is on")).to_be_visible()
    expect(section.get_by_role("switch", name="Two-factor authentication")).to_be_checked()
    expect(section.get_by_test_id("twofa-phone")).to_have_text("+34612345678")
    assert User.objects.get(pk=user.pk).two_factor_enabled

    # Sign out, then sign in: the password alone is not enough.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    sign_in(page, user.login, factories.PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    expect(page.get_by_test_id("code-sent-to")).to_have_text(f"Enter the code we sent to {MASKED}")
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))  # still signed out

    page.goto("/login/code/")
    page.get_by_label("Verification code").fill(code_from_sms(user))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_browser_turn_off_two_factor_from_the_switch(page, company, sms_route):
    user = factories.user(company, roles=[factories.system_role("broadcast_manager")], login="otto",
                          phone="+34612345678", two_factor_enabled=True)
    sign_in(page, user.login, factories.PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    page.get_by_label("Verification code").fill(code_from_sms(user))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.goto("/account/security/")
    section = page.get_by_test_id("twofa")
    switch = section.get_by_role("switch", name="Two-factor authentication")
    expect(switch).to_be_checked()
    switch.click()
    dialog = page.get_by_role("dialog", name="Disable two-factor authentication?")
    expect(dialog).to_be_visible()
    expect(switch).to_be_checked()  # nothing changes before the confirmation
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    switch.click()
    dialog.get_by_label("Current password").fill("Wrong!Passw0rd")
    dialog.get_by_role("button", name="Disable").click()
    expect(dialog.get_by_text("The password is not correct.")).to_be_visible()
    dialog.get_by_label("Current password").fill(factories.PASSWORD)
    dialog.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status").filter(has_text="Two-factor authentication is off")).to_be_visible()
    expect(section.get_by_role("switch", name="Two-factor authentication")).not_to_be_checked()
    assert not User.objects.get(pk=user.pk).two_factor_enabled

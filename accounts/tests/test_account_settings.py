"""Spec §16: Account settings (profile, avatar, appearance, language, about) and the
*Danger zone* of Privacy and Security (delete account)."""

import io
import os
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image
from playwright.sync_api import expect

from accounts.models import User
from portal.models import AuditEvent
from portal.testing import factories


def regular_user(company, **kwargs):
    return factories.user(company, roles=[factories.system_role("broadcast_manager")], **kwargs)


@pytest.fixture
def member(company):
    return regular_user(company, login="mia", first_name="Mia", last_name="Member", email="mia@example.com")


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def image_upload(name="me.png", size=(640, 400), fmt="PNG", color=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


# --- the page ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_settings_page_shows_the_account(member_client, member, company):
    response = member_client.get(reverse("account:settings"))

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Account settings", "Privacy and Security", "Basic information", "Contact information",
                 "Full name", "Login", "Email", "Role", "Company", "Department", "Phone number", "Account ID",
                 "Appearance", "Light theme", "Dark theme", "System settings", "Language", "English", "Español",
                 "About the App"):
        assert text in page, text
    assert "Mia Member" in page
    assert f'data-testid="account-id">{member.pk}<' in page
    assert "Broadcast manager" in page
    assert company.name in page
    assert member.department.name in page
    assert f'data-testid="herald-version">{settings.HERALD_VERSION}<' in page
    assert ">MM<" in page  # initials stand in for the missing avatar


@pytest.mark.django_db
def test_settings_page_needs_sign_in(client):
    response = client.get(reverse("account:settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_admin_sees_no_restrictions(admin_client):
    assert "No restrictions" in admin_client.get(reverse("account:settings")).content.decode()


@pytest.mark.django_db
def test_shell_menu_links_to_account_settings(member_client):
    page = member_client.get(reverse("dashboard")).content.decode()
    assert reverse("account:settings") in page


# --- profile --------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_update_basic_information_is_saved_and_audited(member_client, member):
    response = member_client.post(reverse("account:settings"), {
        "section": "basic", "first_name": "Maria", "middle_name": "José", "last_name": "Miembro",
        "email": "maria@example.com", "login": "hacker"})

    assert response.status_code == 302
    assert response["Location"] == reverse("account:settings")
    page = member_client.get(response["Location"]).content.decode()
    assert "Your profile has been saved." in page
    assert "Maria José Miembro" in page
    member.refresh_from_db()
    assert (member.first_name, member.middle_name, member.last_name, member.email) == (
        "Maria", "José", "Miembro", "maria@example.com")
    assert member.login == "mia"  # read-only
    event = AuditEvent.objects.get(action="Changed own profile")
    assert event.user == member
    detail = event.details.get()
    assert detail.old_value["email"] == "mia@example.com"
    assert detail.new_value["email"] == "maria@example.com"


@pytest.mark.django_db
def test_update_contact_information(member_client, member):
    response = member_client.post(reverse("account:settings"), {"section": "contact", "phone": "+34 600 123 456"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.phone == "+34 600 123 456"
    assert member.first_name == "Mia"  # other sections untouched


@pytest.mark.django_db
def test_role_company_and_department_cannot_be_changed(member_client, member, company):
    other = factories.company("Other")
    member_client.post(reverse("account:settings"), {
        "section": "contact", "phone": "", "company": other.pk, "department": "", "roles": [],
        "unrestricted": "on"})
    member.refresh_from_db()
    assert member.company == company
    assert member.department is not None
    assert not member.unrestricted
    assert [r.system_code for r in member.roles.all()] == ["broadcast_manager"]


@pytest.mark.django_db
def test_invalid_profile_shows_errors_on_the_fields(member_client, member):
    response = member_client.post(reverse("account:settings"), {
        "section": "basic", "first_name": "", "last_name": "Member", "email": "not-an-email"})

    assert response.status_code == 200
    form = response.context["basic_form"]
    assert form.errors["first_name"] == ["This field is required."]
    assert form.errors["email"] == ["Enter a valid email address."]
    assert response.context["editing"] == "basic"
    member.refresh_from_db()
    assert member.email == "mia@example.com"
    assert not AuditEvent.objects.filter(action="Changed own profile").exists()


@pytest.mark.django_db
def test_invalid_phone_is_refused(member_client, member):
    response = member_client.post(reverse("account:settings"), {"section": "contact", "phone": "call me maybe"})
    assert response.status_code == 200
    assert "Enter a phone number" in response.content.decode()
    member.refresh_from_db()
    assert member.phone == ""


@pytest.mark.django_db
def test_edit_link_opens_the_form_without_javascript(member_client):
    response = member_client.get(reverse("account:settings") + "?edit=contact")
    assert response.context["editing"] == "contact"


# --- avatar ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_real_png_is_accepted_and_resized_to_256(member_client, member):
    response = member_client.post(reverse("account:avatar"), {"avatar": image_upload()})

    assert response.status_code == 302
    assert "Your avatar has been updated." in member_client.get(reverse("account:settings")).content.decode()
    member.refresh_from_db()
    assert member.avatar.name.endswith(".png")
    with Image.open(member.avatar.path) as stored:
        assert stored.format == "PNG"
        assert stored.size == (256, 256)
    page = member_client.get(reverse("account:settings")).content.decode()
    assert member.avatar.url in page
    assert AuditEvent.objects.filter(action="Changed own avatar", user=member).exists()


@pytest.mark.django_db
def test_jpeg_is_accepted_and_stored_as_png(member_client, member):
    member_client.post(reverse("account:avatar"), {"avatar": image_upload("me.jpg", fmt="JPEG")})
    member.refresh_from_db()
    with Image.open(member.avatar.path) as stored:
        assert (stored.format, stored.size) == ("PNG", (256, 256))


@pytest.mark.django_db
def test_text_file_renamed_png_is_refused(member_client, member):
    fake = SimpleUploadedFile("holiday.png", b"I am only text, not a picture.\n" * 20, content_type="image/png")

    response = member_client.post(reverse("account:avatar"), {"avatar": fake})

    assert response.status_code == 200
    assert "This file is not an image." in response.content.decode()
    member.refresh_from_db()
    assert not member.avatar


@pytest.mark.django_db
def test_truncated_png_is_refused(member_client, member):
    data = image_upload().read()
    broken = SimpleUploadedFile("broken.png", data[: len(data) // 2], content_type="image/png")
    response = member_client.post(reverse("account:avatar"), {"avatar": broken})
    assert "This file is not an image." in response.content.decode()
    member.refresh_from_db()
    assert not member.avatar


@pytest.mark.django_db
def test_image_over_2_mb_is_refused(member_client, member):
    big = SimpleUploadedFile("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024), content_type="image/png")
    response = member_client.post(reverse("account:avatar"), {"avatar": big})
    assert response.status_code == 200
    assert "The maximum is 2 MB." in response.content.decode()
    member.refresh_from_db()
    assert not member.avatar


@pytest.mark.django_db
def test_upload_without_a_file_is_refused(member_client, member):
    response = member_client.post(reverse("account:avatar"), {})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


@pytest.mark.django_db
def test_remove_avatar_brings_back_the_initials(member_client, member):
    member_client.post(reverse("account:avatar"), {"avatar": image_upload()})
    member.refresh_from_db()
    path = member.avatar.path

    response = member_client.post(reverse("account:avatar"), {"action": "remove"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.avatar
    assert not os.path.exists(path)
    page = member_client.get(reverse("account:settings")).content.decode()
    assert "Your avatar has been removed." in page
    assert ">MM<" in page


@pytest.mark.django_db
def test_replacing_the_avatar_deletes_the_old_file(member_client, member):
    member_client.post(reverse("account:avatar"), {"avatar": image_upload()})
    member.refresh_from_db()
    first = member.avatar.path
    member_client.post(reverse("account:avatar"), {"avatar": image_upload(color=(0, 0, 255))})
    member.refresh_from_db()
    assert member.avatar.path != first
    assert os.path.exists(member.avatar.path)
    assert not os.path.exists(first)


# --- appearance and language ------------------------------------------------------------------------

@pytest.mark.django_db
def test_theme_change_applies_to_the_next_page(member_client, member):
    assert 'data-theme="system"' in member_client.get(reverse("account:settings")).content.decode()

    response = member_client.post(reverse("account:preferences"), {"theme": "dark"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.theme == "dark"
    assert 'data-theme="dark"' in member_client.get(reverse("dashboard")).content.decode()
    member_client.post(reverse("account:preferences"), {"theme": "light"})
    assert 'data-theme="light"' in member_client.get(reverse("account:settings")).content.decode()


@pytest.mark.django_db
def test_unknown_theme_is_refused(member_client, member):
    response = member_client.post(reverse("account:preferences"), {"theme": "neon"})
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    member.refresh_from_db()
    assert member.theme == "system"


@pytest.mark.django_db
def test_language_change_applies_to_the_next_page(member_client, member):
    response = member_client.post(reverse("account:preferences"), {"language": "es"})

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    member.refresh_from_db()
    assert member.language == "es"

    page = member_client.get(reverse("account:settings"))
    html = page.content.decode()
    assert 'lang="es"' in html
    assert page["Content-Language"] == "es"
    with translation.override("es"):
        assert gettext("Account settings") in html
    # Form errors now come in Spanish.
    invalid = member_client.post(reverse("account:settings"), {"section": "basic", "first_name": "",
                                                               "last_name": "Member", "email": "mia@example.com"})
    assert "Este campo es " in invalid.content.decode()  # "obligatorio" or "requerido", by catalogue

    # And back to English.
    back = member_client.post(reverse("account:preferences"), {"language": "en"})
    assert back.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = member_client.get(reverse("account:settings")).content.decode()
    assert 'lang="en"' in html
    invalid = member_client.post(reverse("account:settings"), {"section": "basic", "first_name": "",
                                                               "last_name": "Member", "email": "mia@example.com"})
    assert "This field is required." in invalid.content.decode()


@pytest.mark.django_db
def test_language_survives_sign_out(member_client):
    member_client.post(reverse("account:preferences"), {"language": "es"})
    member_client.post(reverse("logout"))
    assert 'lang="es"' in member_client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_preferences_redirect_only_to_the_same_site(member_client):
    same = member_client.post(reverse("account:preferences"), {"theme": "dark", "next": reverse("dashboard")})
    assert same["Location"] == reverse("dashboard")
    evil = member_client.post(reverse("account:preferences"), {"theme": "dark", "next": "https://evil.example/"})
    assert evil["Location"] == reverse("account:settings")


# --- delete account -------------------------------------------------------------------------------

def delete(client, password=factories.PASSWORD, confirmation="delete-account"):
    return client.post(reverse("account:delete"), {"password": password, "confirmation": confirmation})


@pytest.mark.django_db
def test_security_page_offers_the_danger_zone(member_client):
    page = member_client.get(reverse("account:security")).content.decode()
    for text in ("Danger zone", "Delete account", "Enter your current password", "Continue", "delete-account",
                 "Delete", "Cancel"):
        assert text in page, text


@pytest.mark.django_db
def test_delete_with_wrong_password_is_refused(member_client, member):
    response = delete(member_client, password="Not!MyPassword1")

    assert response.status_code == 200
    assert "The password is not correct." in response.content.decode()
    assert response.context["delete_step"] == 1
    assert User.objects.filter(pk=member.pk).exists()
    assert member_client.get(reverse("dashboard")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["", "delete", "Delete-Account", "delete account"])
def test_delete_with_wrong_word_is_refused(member_client, member, word):
    response = delete(member_client, confirmation=word)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Type delete-account to confirm." in page or "This field is required." in page
    assert User.objects.filter(pk=member.pk).exists()


@pytest.mark.django_db
def test_delete_with_password_and_word_removes_the_account_and_signs_out(member_client, member):
    response = delete(member_client)

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert not User.objects.filter(pk=member.pk).exists()
    login_page = member_client.get(reverse("login"))
    assert login_page.status_code == 200
    assert "Your account has been deleted." in login_page.content.decode()
    assert member_client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    assert member_client.post(reverse("login"), {"login": "mia", "password": factories.PASSWORD}).status_code == 200
    assert AuditEvent.objects.filter(action="Deleted own account (mia)").exists()


@pytest.mark.django_db
def test_last_admin_of_a_company_cannot_delete_themselves(admin_client, admin_user, member):
    response = delete(admin_client)

    assert response.status_code == 200
    assert "You are the last active Admin of your company" in response.content.decode()
    assert User.objects.filter(pk=admin_user.pk).exists()


@pytest.mark.django_db
def test_an_admin_with_another_admin_can_delete_themselves(admin_client, admin_user, company):
    factories.user(company, roles=[factories.system_role("admin")])

    response = delete(admin_client)

    assert response["Location"] == reverse("login")
    assert not User.objects.filter(pk=admin_user.pk).exists()


@pytest.mark.django_db
def test_delete_needs_post(member_client, member):
    assert member_client.get(reverse("account:delete"))["Location"] == reverse("account:security")
    assert User.objects.filter(pk=member.pk).exists()


# --- two-factor authentication --------------------------------------------------------------------

@pytest.mark.django_db
def test_two_factor_section_shows_the_state(member_client, member):
    """The section itself is tested in test_two_factor.py; here only that the page shows it."""
    page = member_client.get(reverse("account:security")).content.decode()
    assert "Two-factor authentication" in page
    assert 'data-testid="twofa-toggle"' in page
    assert "Add phone number" in page

    User.objects.filter(pk=member.pk).update(two_factor_enabled=True, phone="+34612345678")
    page = member_client.get(reverse("account:security")).content.decode()
    assert "Edit phone number" in page and 'data-testid="twofa-phone">+34612345678<' in page


# --- in the browser: the Alpine parts (Generate, the two-step Delete dialog, auto-saving preferences) ---

@pytest.mark.browser
def test_browser_generate_fills_both_fields_and_the_password_is_saved(page, logged_in_page, admin_user):
    logged_in_page(admin_user)
    page.goto(reverse("account:security"))
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Current password", exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name="Generate").click()
    new = page.locator("#id_new_password")
    expect(new).not_to_have_value("")
    generated = new.input_value()
    expect(page.locator("#id_confirm_password")).to_have_value(generated)
    expect(new).to_have_attribute("type", "password")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(new).to_have_attribute("type", "text")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account/security/$"))
    assert User.objects.get(pk=admin_user.pk).check_password(generated)


@pytest.mark.browser
def test_browser_delete_account_two_steps(page, logged_in_page, company):
    user = regular_user(company, login="leaver", first_name="Leo", last_name="Leaver")
    logged_in_page(user)
    page.goto(reverse("account:security"))
    page.get_by_role("button", name="Delete account").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    continue_button = dialog.get_by_role("button", name="Continue")
    expect(continue_button).to_be_disabled()
    dialog.get_by_label("Enter your current password").fill(factories.PASSWORD)
    continue_button.click()
    delete_button = dialog.get_by_role("button", name="Delete", exact=True)
    word = dialog.get_by_label("Confirmation")
    word.fill("delete-accoun")
    expect(delete_button).to_be_disabled()
    word.fill("delete-account")
    expect(delete_button).to_be_enabled()
    delete_button.click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_text("Your account has been deleted.")).to_be_visible()
    assert not User.objects.filter(login="leaver").exists()


@pytest.mark.browser
def test_browser_choosing_dark_theme_and_spanish_applies_at_once(page, logged_in_page, admin_user):
    logged_in_page(admin_user)
    page.goto(reverse("account:settings"))
    page.get_by_label("Dark theme").check()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_label("Español").check()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    admin_user.refresh_from_db()
    assert (admin_user.theme, admin_user.language) == ("dark", "es")

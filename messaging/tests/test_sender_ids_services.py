"""Sender ID rules (spec P§11.2, gap G22): the SMS name rule, the RCS bot limits, the status
rules of edit / send / cancel / delete, the BackOffice status changes, the audit log, and
the ``active_sender`` selector the sending code uses."""

from __future__ import annotations

import io
import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from messaging import selectors
from messaging.models import SenderId, SenderIdStatus
from messaging.services import senders as services
from portal.audit import Actor
from portal.channel_types import Channel
from portal.models import AuditEvent

S = SenderIdStatus
ALL_STATUSES = list(S)


def image(width, height, fmt="PNG", noise=False, name=None) -> SimpleUploadedFile:
    if noise:  # incompressible: a big file for its size in pixels
        picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        picture = Image.new("RGB", (width, height), (20, 120, 220))
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    ext = {"PNG": "png", "JPEG": "jpg", "GIF": "gif"}[fmt]
    return SimpleUploadedFile(name or f"picture.{ext}", buffer.getvalue(), content_type=f"image/{ext}")


@pytest.fixture
def actor(admin_user, company):
    return Actor(user=admin_user, company=company, ip="127.0.0.1")


def sms(actor, company, name="Herald", submit=False, **data):
    return services.create_sender_id(actor=actor, company=company, channel=Channel.SMS,
                                     data={"name": name, **data}, submit=submit)


def rcs(actor, company, submit=False, logo=None, background=None, **data):
    return services.create_sender_id(actor=actor, company=company, channel=Channel.RCS,
                                     data={"name": "Herald Bot", **data}, logo=logo, background=background,
                                     submit=submit)


def with_status(sender, status, sender_id="HERALD"):
    SenderId.objects.filter(pk=sender.pk).update(status=status, sender_id=sender_id)
    sender.refresh_from_db()
    return sender


def errors_of(exc_info) -> dict:
    return exc_info.value.message_dict


# --- SMS ---------------------------------------------------------------------------------------------

def test_an_sms_draft_and_an_sms_application(actor, company):
    draft = sms(actor, company, "Herald", description="Our brand", agreement="AG-1", sample_message="Your code is 1234")
    assert (draft.status, draft.channel, draft.name, draft.description, draft.agreement, draft.sample_message) == (
        S.DRAFT, Channel.SMS, "Herald", "Our brand", "AG-1", "Your code is 1234")
    assert draft.created_by == actor.user and draft.company == company and draft.sender_id == ""
    sent = sms(actor, company, "Shop", submit=True)
    assert sent.status == S.SUBMITTED
    actions = list(AuditEvent.objects.filter(company=company, user=actor.user).values_list("action", flat=True))
    assert "Added new sender ID draft" in actions and "Sent sender ID application" in actions


@pytest.mark.parametrize("raw, stored", [
    ("Herald", "Herald"),
    ("  My  Shop ", "My Shop"),
    ("A-B.C_D&E 1", "A-B.C_D&E 1"),
    ("Shop24", "Shop24"),
    ("4930609859535", "4930609859535"),
    ("+34 612 345 678", "+34612345678"),
    ("123456789012345", "123456789012345"),
])
def test_sms_names_that_pass(actor, company, raw, stored):
    assert services.clean_sms_name(raw) == stored


@pytest.mark.parametrize("raw, message", [
    ("", "Enter the sender ID name."),
    ("A-B.C_D&E 12", "An alphanumeric sender ID has at most 11 characters; this one has 12."),
    ("HeraldShop12", "An alphanumeric sender ID has at most 11 characters; this one has 12."),
    ("1234567890123456", "A numeric sender ID has at most 15 digits; this one has 16."),
    ("+1234567890123456", "A numeric sender ID has at most 15 digits; this one has 16."),
    ("Café", "may use only Latin letters, digits, spaces and . - _ &; not allowed: “é”"),
    ("Shop!", "not allowed: “!”"),
])
def test_sms_names_that_fail_say_which_rule(actor, company, raw, message):
    with pytest.raises(ValidationError) as exc:
        sms(actor, company, raw)
    assert any(message in m for m in errors_of(exc)["name"])
    assert not SenderId.objects.exists()


def test_sms_text_limits(actor, company):
    with pytest.raises(ValidationError) as exc:
        sms(actor, company, description="d" * 101, agreement="a" * 101, sample_message="s" * 1001)
    errors = errors_of(exc)
    assert errors["description"] == ["Description has at most 100 characters; this one has 101."]
    assert errors["agreement"] == ["Agreement has at most 100 characters; this one has 101."]
    assert errors["sample_message"] == ["Sample message has at most 1000 characters; this one has 1001."]


def test_only_sms_and_rcs_are_requested_in_the_portal(actor, company):
    for channel in (Channel.VIBER, Channel.WHATSAPP, Channel.EMAIL, 99):
        with pytest.raises(ValidationError) as exc:
            services.create_sender_id(actor=actor, company=company, channel=channel, data={"name": "Herald"})
        assert "channel" in errors_of(exc)
    assert not SenderId.objects.exists()


# --- RCS ---------------------------------------------------------------------------------------------

def test_an_rcs_application_with_every_field(actor, company):
    sender = rcs(actor, company, submit=True, description="Fresh cakes", contact_name="Ana",
                 phones=[{"value": "612 34 56 78", "label": "Call us"}, ("+34 911 23 45 67", "")],
                 websites=[{"value": "https://example.com", "label": "Shop"}],
                 emails=[{"value": "help@example.com", "label": "Write"}], color="#1A73E8",
                 privacy_url="https://example.com/privacy", terms_url="http://example.com/terms",
                 logo=image(240, 240, name="logo.gif"), background=image(1440, 448, "JPEG"))
    sender.refresh_from_db()
    assert sender.status == S.SUBMITTED and sender.channel == Channel.RCS
    assert sender.registration == {
        "contact_name": "Ana",
        "phones": [{"value": "+34612345678", "label": "Call us"}, {"value": "+34911234567", "label": ""}],
        "websites": [{"value": "https://example.com", "label": "Shop"}],
        "emails": [{"value": "help@example.com", "label": "Write"}],
        "color": "#1a73e8", "privacy_url": "https://example.com/privacy", "terms_url": "http://example.com/terms",
        "webhook_url": ""}
    # the real format decides the extension, not the uploaded name
    assert sender.logo.name.startswith("sender_ids/logos/") and sender.logo.name.endswith(".png")
    assert sender.background.name.endswith(".jpg") and default_storage.exists(sender.background.name)
    with Image.open(sender.logo.open("rb")) as stored:
        assert stored.size == (240, 240)


def test_rcs_color_defaults_to_black(actor, company):
    assert rcs(actor, company).registration["color"] == "#000000"


@pytest.mark.parametrize("data, field, message", [
    ({"name": "n" * 41}, "name", "Sender ID Name has at most 40 characters; this one has 41."),
    ({"name": "  "}, "name", "Sender ID Name is required."),
    ({"description": "d" * 101}, "description", "Description has at most 100 characters; this one has 101."),
    ({"contact_name": "c" * 101}, "contact_name", "Contact name has at most 100 characters; this one has 101."),
    ({"phones": [("+34612345671", ""), ("+34612345672", ""), ("+34612345673", "")]}, "phones",
     "At most 2 phone numbers; remove 1."),
    ({"phones": [("+34612345671", "x" * 26)]}, "phones",
     "Phone number 1: the button text has at most 25 characters; this one has 26."),
    ({"phones": [("12", "")]}, "phones", "Phone number 1: “12” has 2 digits: a phone number has 3 to 17."),
    ({"phones": [("", "Call")]}, "phones", "Phone number 1: enter it, or clear its button text."),
    ({"websites": [("https://a.example", ""), ("https://b.example", ""), ("https://c.example", "")]}, "websites",
     "At most 2 websites; remove 1."),
    ({"websites": [("example.com", "")]}, "websites",
     "Website 1: “example.com” is not a web address; enter a full address starting with https:// or http://."),
    ({"websites": [("https://a.example", "w" * 26)]}, "websites",
     "Website 1: the button text has at most 25 characters; this one has 26."),
    ({"emails": [("a@example.com", ""), ("b@example.com", ""), ("c@example.com", "")]}, "emails",
     "At most 2 e-mails; remove 1."),
    ({"emails": [("not-an-email", "")]}, "emails", "E-mail 1: “not-an-email” is not an e-mail address."),
    ({"color": "red"}, "color", "Color: “red” is not a color; use the #RRGGBB form, e.g. #1A73E8."),
    ({"color": "#12345"}, "color", "Color: “#12345” is not a color"),
    ({"privacy_url": "javascript:alert(1)"}, "privacy_url", "Privacy policy URL: “javascript:alert(1)” is not a web"),
    ({"terms_url": "ftp://example.com/terms"}, "terms_url", "Terms of service URL: “ftp://example.com/terms” is not"),
    ({"webhook_url": "https://hooks.example.com"}, "webhook_url",
     "The webhook URL can be set once the sender ID is approved (status Done or Active)."),
])
def test_rcs_limits_are_refused_with_a_message(actor, company, data, field, message):
    with pytest.raises(ValidationError) as exc:
        rcs(actor, company, **data)
    assert any(m.startswith(message) for m in errors_of(exc)[field]), errors_of(exc)
    assert not SenderId.objects.exists()


@pytest.mark.parametrize("field, upload, message", [
    ("logo", image(300, 300), "Logo: the image is 300x300 pixels; it must be exactly 240x240."),
    ("logo", image(240, 240, noise=True), "Logo: the file is "),
    ("logo", SimpleUploadedFile("logo.png", b"just some text, not a picture", content_type="image/png"),
     "Logo: the file is not a JPG or PNG image."),
    ("logo", image(240, 240, "GIF"), "Logo: the image is a GIF; use a JPG or PNG image."),
    ("background", image(1440, 450), "Background image: the image is 1440x450 pixels; it must be exactly 1440x448."),
    ("background", image(1440, 448, noise=True), "Background image: the file is "),
])
def test_images_are_checked_by_their_content(actor, company, field, upload, message):
    with pytest.raises(ValidationError) as exc:
        rcs(actor, company, **{field: upload})
    assert errors_of(exc)[field][0].startswith(message), errors_of(exc)
    if "the file is " in message and "not" not in message:
        assert errors_of(exc)[field][0].endswith(f"the most is {90 if field == 'logo' else 120} KB.")
    assert not SenderId.objects.exists()


def test_an_image_at_the_weight_limit_passes(actor, company):
    upload = image(240, 240)
    upload.size = 90 * 1024  # exactly the limit
    assert services.check_image(upload, services.LOGO) == "png"
    upload.size = 90 * 1024 + 1
    with pytest.raises(ValidationError, match="the most is 90 KB"):
        services.check_image(upload, services.LOGO)


# --- status rules --------------------------------------------------------------------------------------

EDITABLE = {S.DRAFT, S.SUBMITTED, S.DONE, S.ACTIVE}
CANCELABLE = {S.DRAFT, S.SUBMITTED, S.IN_PROGRESS, S.TESTING, S.DONE}
DELETABLE = {S.DRAFT, S.CANCELED, S.REJECTED}


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_edit_is_allowed_only_for_draft_submitted_done_and_active(actor, company, status):
    sender = with_status(sms(actor, company, "Herald"), status)
    if status in EDITABLE:
        services.update_sender_id(actor=actor, sender=sender, data={"name": "Herald2", "description": "new"})
        sender.refresh_from_db()
        assert (sender.name, sender.description, sender.status) == ("Herald2", "new", status)
    else:
        with pytest.raises(ValidationError) as exc:
            services.update_sender_id(actor=actor, sender=sender, data={"name": "Herald2"})
        assert exc.value.messages == [f"A sender ID with status {status.label} cannot be edited; only "
                                      "Draft, Submitted, Done, Active ones can."]
        sender.refresh_from_db()
        assert sender.name == "Herald"


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_cancel_is_allowed_from_draft_submitted_in_progress_testing_and_done(actor, company, status):
    sender = with_status(sms(actor, company), status)
    if status in CANCELABLE:
        services.cancel_sender_id(actor=actor, sender=sender)
        assert sender.status == S.CANCELED
        sender.refresh_from_db()
        assert sender.status == S.CANCELED
        assert AuditEvent.objects.filter(action="Canceled sender ID request", company=company).exists()
    else:
        with pytest.raises(ValidationError, match=f"status {status.label} cannot be canceled"):
            services.cancel_sender_id(actor=actor, sender=sender)
        sender.refresh_from_db()
        assert sender.status == status


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_delete_is_allowed_for_draft_canceled_and_rejected(actor, company, status):
    sender = with_status(sms(actor, company), status)
    if status in DELETABLE:
        services.delete_sender_id(actor=actor, sender=sender)
        assert not SenderId.objects.exists()
        assert AuditEvent.objects.filter(action="Deleted sender ID", company=company).exists()
    else:
        with pytest.raises(ValidationError, match=f"status {status.label} cannot be deleted; cancel the request"):
            services.delete_sender_id(actor=actor, sender=sender)
        assert SenderId.objects.filter(pk=sender.pk).exists()


def test_the_rule_is_read_from_the_database_not_the_stale_object(actor, company):
    sender = sms(actor, company)  # a Draft in memory
    SenderId.objects.filter(pk=sender.pk).update(status=S.ACTIVE, sender_id="HERALD")  # the owner activated it
    with pytest.raises(ValidationError):
        services.delete_sender_id(actor=actor, sender=sender)
    assert SenderId.objects.filter(pk=sender.pk).exists()


def test_sending_a_drafts_application(actor, company):
    draft = sms(actor, company)
    services.update_sender_id(actor=actor, sender=draft, data={"name": "Herald"}, submit=False)
    assert draft.status == S.DRAFT
    services.update_sender_id(actor=actor, sender=draft, data={"name": "Herald"}, submit=True)
    assert draft.status == S.SUBMITTED
    other = sms(actor, company, "Other")
    services.submit_sender_id(actor=actor, sender=other)
    other.refresh_from_db()
    assert other.status == S.SUBMITTED
    with pytest.raises(ValidationError, match="Only a draft's application can be sent; this sender ID is Submitted"):
        services.submit_sender_id(actor=actor, sender=other)


def test_editing_a_submitted_one_never_goes_back_to_draft_or_forward(actor, company):
    sender = sms(actor, company, submit=True)
    services.update_sender_id(actor=actor, sender=sender, data={"name": "Herald"}, submit=True)
    assert sender.status == S.SUBMITTED
    active = with_status(sms(actor, company, "Shop"), S.ACTIVE)
    services.update_sender_id(actor=actor, sender=active, data={"name": "Shop", "description": "x"}, submit=False)
    assert active.status == S.ACTIVE


def test_other_channels_are_not_edited_in_the_portal(actor, company):
    viber = SenderId.objects.create(company=company, channel=Channel.VIBER, name="Herald", status=S.DONE)
    with pytest.raises(ValidationError, match="Viber sender IDs are registered by the system owner"):
        services.update_sender_id(actor=actor, sender=viber, data={"name": "Other"})
    services.cancel_sender_id(actor=actor, sender=viber)  # the status rules still apply
    services.delete_sender_id(actor=actor, sender=viber)
    assert not SenderId.objects.exists()


@pytest.mark.parametrize("status, allowed", [(S.DRAFT, False), (S.SUBMITTED, False), (S.IN_PROGRESS, False),
                                             (S.DONE, True), (S.ACTIVE, True)])
def test_the_webhook_url_is_set_only_once_approved(actor, company, status, allowed):
    sender = rcs(actor, company)
    if status not in EDITABLE:
        assert not services.can_edit(with_status(sender, status))
        return
    sender = with_status(sender, status)
    data = {"name": "Herald Bot", "webhook_url": "https://hooks.example.com/rcs"}
    if allowed:
        services.update_sender_id(actor=actor, sender=sender, data=data)
        sender.refresh_from_db()
        assert sender.registration["webhook_url"] == "https://hooks.example.com/rcs"
    else:
        with pytest.raises(ValidationError) as exc:
            services.update_sender_id(actor=actor, sender=sender, data=data)
        assert "webhook_url" in errors_of(exc)


def test_rcs_edit_replaces_and_removes_images(actor, company, django_capture_on_commit_callbacks):
    sender = rcs(actor, company, logo=image(240, 240), background=image(1440, 448))
    old_logo, old_background = sender.logo.name, sender.background.name
    with django_capture_on_commit_callbacks(execute=True):
        services.update_sender_id(actor=actor, sender=sender, data={"name": "Herald Bot"},
                                  logo=image(240, 240, "JPEG"), remove_background=True)
    sender.refresh_from_db()
    assert sender.logo.name != old_logo and sender.logo.name.endswith(".jpg")
    assert not default_storage.exists(old_logo) and default_storage.exists(sender.logo.name)
    assert sender.background.name == "" and not default_storage.exists(old_background)
    # no new file: the stored one stays
    services.update_sender_id(actor=actor, sender=sender, data={"name": "Herald Bot", "description": "x"})
    sender.refresh_from_db()
    assert default_storage.exists(sender.logo.name)


def test_rcs_edit_keeps_registration_keys_it_does_not_know(actor, company):
    sender = rcs(actor, company)
    SenderId.objects.filter(pk=sender.pk).update(registration={**sender.registration, "agent_id": "bot@rbm.goog"})
    sender.refresh_from_db()
    services.update_sender_id(actor=actor, sender=sender, data={"name": "Herald Bot", "contact_name": "Luis"})
    sender.refresh_from_db()
    assert sender.registration["agent_id"] == "bot@rbm.goog" and sender.registration["contact_name"] == "Luis"


def test_delete_removes_the_images(actor, company, django_capture_on_commit_callbacks):
    sender = rcs(actor, company, logo=image(240, 240))
    name = sender.logo.name
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_sender_id(actor=actor, sender=sender)
    assert not default_storage.exists(name)


def test_the_audit_log_records_each_write(actor, company):
    sender = sms(actor, company)
    services.update_sender_id(actor=actor, sender=sender, data={"name": "Herald", "description": "x"})
    services.submit_sender_id(actor=actor, sender=sender)
    services.cancel_sender_id(actor=actor, sender=sender)
    services.delete_sender_id(actor=actor, sender=sender)
    actions = list(AuditEvent.objects.filter(company=company).order_by("id").values_list("action", flat=True))
    assert actions[-5:] == ["Added new sender ID draft", "Changed sender ID", "Sent sender ID application",
                            "Canceled sender ID request", "Deleted sender ID"]


# --- BackOffice -------------------------------------------------------------------------------------------

def test_the_owner_moves_the_status_and_assigns_the_sender_id(actor, company):
    owner = Actor()  # BackOffice staff: no company
    sender = sms(actor, company, submit=True)
    for status in (S.IN_PROGRESS, S.TESTING, S.DONE):
        services.set_status(actor=owner, sender=sender, status=status)
        assert SenderId.objects.get(pk=sender.pk).status == status
    with pytest.raises(ValidationError) as exc:
        services.set_status(actor=owner, sender=sender, status=S.ACTIVE)
    assert "An Active sender ID needs its sender ID" in errors_of(exc)["sender_id"][0]
    services.set_status(actor=owner, sender=sender, status=S.ACTIVE, sender_id=" HERALD ")
    sender.refresh_from_db()
    assert (sender.status, sender.sender_id) == (S.ACTIVE, "HERALD")
    event = AuditEvent.objects.filter(action="Changed sender ID status to Active").get()
    assert event.company == company and event.user is None
    with pytest.raises(ValidationError):
        services.set_status(actor=owner, sender=sender, status="nonsense")


# --- the selector the sending code uses --------------------------------------------------------------------

def test_active_sender_matches_only_active_same_company_same_channel_exact_sender_id(actor, company,
                                                                                    other_company,
                                                                                    django_assert_num_queries):
    def make(company=company, channel=Channel.SMS, status=S.ACTIVE, sender_id="HERALD", name="Herald"):
        return SenderId.objects.create(company=company, channel=channel, status=status, sender_id=sender_id, name=name)

    active = make()
    make(status=S.DONE, sender_id="PENDING")
    make(channel=Channel.RCS, sender_id="bot@rbm.goog")
    make(company=other_company, sender_id="GLOBEX")
    make(status=S.ACTIVE, sender_id="", name="NoIdYet")  # active without identifier (made outside the services)
    with django_assert_num_queries(1):
        assert selectors.active_sender(company, Channel.SMS, "HERALD") == active
    assert selectors.active_sender(company, Channel.SMS, "  HERALD ") == active
    assert selectors.active_sender(company, Channel.SMS, "herald") is None          # letter case matters
    assert selectors.active_sender(company, Channel.SMS, "Herald") is None          # the name is never matched
    assert selectors.active_sender(company, Channel.SMS, "PENDING") is None         # Done is not Active
    assert selectors.active_sender(company, Channel.SMS, "bot@rbm.goog") is None    # another channel
    assert selectors.active_sender(company, Channel.RCS, "bot@rbm.goog") is not None
    assert selectors.active_sender(company, Channel.SMS, "GLOBEX") is None          # another company
    assert selectors.active_sender(other_company, Channel.SMS, "GLOBEX") is not None
    assert selectors.active_sender(company, Channel.SMS, "NoIdYet") is None
    assert selectors.active_sender(company, Channel.SMS, "") is None
    with django_assert_num_queries(0):
        assert selectors.active_sender(company, Channel.SMS, None) is None


def test_active_sender_follows_status_changes(actor, company):
    sender = sms(actor, company, submit=True)
    owner = Actor()
    services.set_status(actor=owner, sender=sender, status=S.ACTIVE, sender_id="HERALD")
    assert selectors.active_sender(company, Channel.SMS, "HERALD") == sender
    services.set_status(actor=owner, sender=sender, status=S.BLOCKED)
    assert selectors.active_sender(company, Channel.SMS, "HERALD") is None


def test_active_senders_lists_the_active_ones_of_a_channel(company, other_company):
    SenderId.objects.create(company=company, channel=Channel.SMS, status=S.ACTIVE, sender_id="B", name="b")
    SenderId.objects.create(company=company, channel=Channel.SMS, status=S.ACTIVE, sender_id="A", name="a")
    SenderId.objects.create(company=company, channel=Channel.SMS, status=S.SUBMITTED, sender_id="C", name="c")
    SenderId.objects.create(company=company, channel=Channel.VIBER, status=S.ACTIVE, sender_id="V", name="v")
    SenderId.objects.create(company=other_company, channel=Channel.SMS, status=S.ACTIVE, sender_id="O", name="o")
    assert [s.sender_id for s in selectors.active_senders(company, Channel.SMS)] == ["A", "B"]
    assert [s.sender_id for s in selectors.active_senders(company)] == ["A", "B", "V"]
    assert selectors.sender_ids_for(company).count() == 4

"""Content templates (spec P§11.3): create, change and delete a company's reusable message
content, every write audited.

The content is checked with ``messaging.content.validate_content`` and saved as
``prepare_content`` makes it (an e-mail built from blocks carries the HTML the SMTP driver
sends). A refusal is a ``ValidationError`` whose keys are ``name``, ``channel``, and
``content`` / ``content.<path>`` for the content (``content.card.suggestions[2].url``):
nothing is saved.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from assets.models import ContentTemplate
from messaging.content import prepare_content, validate_content
from portal import audit
from portal.audit import Actor
from portal.channel_types import Channel

NAME_MAX = 100
SENDER_MAX = 100
# The channels a content template can be made for (spec P§0.2, P§11.3).
TEMPLATE_CHANNELS = (Channel.SMS, Channel.RCS, Channel.VIBER, Channel.WHATSAPP, Channel.EMAIL, Channel.PUSH,
                     Channel.TTS, Channel.MOBILE_PUSH)
CONTENT_PREFIX = "content."


def channel_choices() -> list[tuple[int, str]]:
    return [(int(c), str(c.label)) for c in TEMPLATE_CHANNELS]


def _clean(name, channel, content, sender) -> tuple[str, int, dict, str]:
    errors: dict[str, str] = {}
    name = str(name or "").strip()
    if not name:
        errors["name"] = _("Give the template a name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("A name has at most %(max)d characters; this has %(n)d.") % {"max": NAME_MAX,
                                                                                         "n": len(name)}
    try:
        channel = int(channel)
    except (TypeError, ValueError):
        channel = None
    if channel not in TEMPLATE_CHANNELS:
        errors["channel"] = _("Choose the channel: %(list)s.") % {
            "list": ", ".join(str(c.label) for c in TEMPLATE_CHANNELS)}
    else:
        errors.update(validate_content(channel, content, prefix=CONTENT_PREFIX))
    sender = str(sender or "").strip()
    if len(sender) > SENDER_MAX:
        errors["sender"] = _("A sender ID has at most %(max)d characters.") % {"max": SENDER_MAX}
    if errors:
        raise ValidationError(errors)
    return name, channel, prepare_content(channel, content), sender


def content_errors(exc: ValidationError) -> dict[str, str]:
    """The content part of a refusal, keyed by the path inside the content (``""`` for the
    content as a whole), as the constructor shows them."""
    found = {}
    for key, messages in exc.message_dict.items():
        if key == CONTENT_PREFIX.rstrip("."):
            found[""] = " ".join(messages)
        elif key.startswith(CONTENT_PREFIX):
            found[key[len(CONTENT_PREFIX):]] = " ".join(messages)
    return found


@transaction.atomic
def create_content_template(*, actor: Actor, company, name: str, channel: int, content, sender: str = "",
                            ) -> ContentTemplate:
    name, channel, content, sender = _clean(name, channel, content, sender)
    template = ContentTemplate.objects.create(company=company, name=name, channel=channel, content=content,
                                              sender=sender, created_by=actor.user)
    audit.record(actor, "Added new content template", [audit.created(template)], company=company)
    return template


@transaction.atomic
def update_content_template(*, actor: Actor, template: ContentTemplate, name: str, content, channel=None,
                            sender: str | None = None) -> ContentTemplate:
    """Rename and change the content; the channel too when given (the content must then be
    that channel's)."""
    channel = template.channel if channel is None else channel
    sender = template.sender if sender is None else sender
    name, channel, content, sender = _clean(name, channel, content, sender)
    before = audit.snapshot(template)
    template.name, template.channel, template.content, template.sender = name, channel, content, sender
    template.save()
    audit.record(actor, "Changed content template", [audit.updated(template, before)], company=template.company)
    return template


@transaction.atomic
def delete_content_template(*, actor: Actor, template: ContentTemplate) -> None:
    before = audit.snapshot(template)
    pk = template.pk
    template.delete()
    audit.record(actor, "Deleted content template", [audit.deleted(template, before, pk=pk)],
                 company=template.company)

"""Reusable content (spec P§5): content templates, shared by broadcasts, chatbots, the
conversations' template panel and the Omni API (``template.id``).

A template holds one channel's payload, with placeholders rendered at send time by
``messaging.rendering`` (``{{attribute.name}}``, ``{{1}}``…). The pages that build them per
channel come later; for now the model, the BackOffice and the selectors.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.channel_types import Channel
from portal.tenancy import TenantManager, TenantModel


class ContentTemplate(TenantModel):
    """One channel's message content, reusable by id.

    ``content`` is the channel payload as a send uses it: ``{"text": …}`` for SMS, Viber,
    Telegram, TTS…; ``{"subject", "html", "text"}`` for Email; the rich structures of RCS and
    WhatsApp. ``sender`` is an optional default sender ID text for the template.
    """

    name = models.CharField(_("name"), max_length=100)
    channel = models.PositiveSmallIntegerField(_("channel"), choices=Channel.choices)
    content = models.JSONField(_("content"), default=dict, blank=True)
    sender = models.CharField(_("sender ID"), max_length=100, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("content template")
        verbose_name_plural = _("content templates")
        indexes = [models.Index(fields=["company", "channel"], name="content_template_channel")]

    def __str__(self):
        return f"{self.name} ({self.get_channel_display()})"

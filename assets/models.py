"""Reusable content (spec P§5): content templates, shared by broadcasts, chatbots, the
conversations' template panel and the Omni API (``template.id``).

A template holds one channel's payload, with placeholders rendered at send time by
``messaging.rendering`` (``{{attribute.name}}``, ``{{1}}``…). The pages that build them per
channel come later; for now the model, the BackOffice and the selectors.

Media (spec P§11.1): the files a company uploads (images, video, audio, documents), checked
by content and stored under unguessable names; see ``assets.services.media``.
"""

import secrets

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
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


# --- media (spec P§11.1) ------------------------------------------------------------------------

class MediaType(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio")
    DOCUMENT = "document", _("Document")


def _random_part() -> str:
    """128 random bits: a stored file's name cannot be guessed from another's."""
    return secrets.token_hex(16)


def _extension(filename: str) -> str:
    _base, dot, ext = filename.rpartition(".")
    return f".{ext.lower()}" if dot and ext.isalnum() else ""


def media_upload_to(instance, filename: str) -> str:
    """``media/<company id>/<random>.<ext>`` (the extension of the checked format)."""
    return f"media/{instance.company_id}/{_random_part()}{_extension(filename)}"


def media_thumbnail_upload_to(instance, filename: str) -> str:
    return f"media/{instance.company_id}/thumbs/{_random_part()}{_extension(filename)}"


class Media(TenantModel):
    """One uploaded file usable in broadcasts and chatbots (spec P§11.1).

    The file's type is what its content is (``assets.filetypes``), never what its name says;
    ``file`` is stored under a random name with the extension of that type, ``name`` keeps
    the name it was uploaded with (used by *Download*). Images have their pixel size and a
    thumbnail (first frame of an animation); other types have neither.
    """

    file = models.FileField(_("file"), upload_to=media_upload_to, max_length=255)
    name = models.CharField(_("filename"), max_length=255)
    media_type = models.CharField(_("media type"), max_length=10, choices=MediaType.choices)
    format = models.CharField(_("format"), max_length=10)  # "PNG", "MP4", "PDF" …
    mime_type = models.CharField(_("MIME type"), max_length=100)
    width = models.PositiveIntegerField(_("width (px)"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height (px)"), null=True, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    thumbnail = models.FileField(_("thumbnail"), upload_to=media_thumbnail_upload_to, max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(_("date of upload"), auto_now_add=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("media file")
        verbose_name_plural = _("media")
        indexes = [
            models.Index(fields=["company", "created_at"], name="media_company_created"),
            models.Index(fields=["company", "media_type", "created_at"], name="media_company_type_created"),
        ]

    def __str__(self):
        return self.name

    @property
    def dimensions(self) -> str:
        """``314 x 400 px`` for images, else empty."""
        if self.width and self.height:
            return f"{self.width} x {self.height} px"
        return ""

    @property
    def weight(self) -> str:
        return human_size(self.size)

    @property
    def is_image(self) -> bool:
        return self.media_type == MediaType.IMAGE


def human_size(size) -> str:
    """``263.55 KB``: bytes in B, KB, MB or GB (1 KB = 1024 bytes), two decimals above bytes."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.2f} {unit}"
    return ""  # pragma: no cover


@receiver(post_delete, sender=Media)
def _delete_media_files(sender, instance: Media, **kwargs):
    """However a media row goes (the portal, the BackOffice, its company deleted), its file
    and thumbnail go too, once the transaction that deleted it commits."""
    names = [f.name for f in (instance.file, instance.thumbnail) if f and f.name]
    if names:
        storage = instance.file.storage
        transaction.on_commit(lambda: [storage.delete(n) for n in names], using=kwargs.get("using"))

"""Media writes (spec P§11.1): upload (checked by content) and delete, each audited.

An upload is refused, with a reason naming what is wrong, when the file

* is empty or larger than ``settings.HERALD_MEDIA_MAX_BYTES`` (default 500 MB, spec rule 29);
* is not a supported type by its content, or its name's extension says another type
  (``assets.filetypes``);
* is an image Pillow cannot decode, or has more pixels than ``PIL.Image.MAX_IMAGE_PIXELS``
  (a decompression bomb).

A refused file leaves nothing behind: no row, no file. A stored file is written before its
row; if the row cannot be written the file is removed again. Deleting a row removes its file
and thumbnail once the transaction commits (``assets.models._delete_media_files``).

Several files are uploaded one by one (:func:`upload_media`): each good file is saved even
when another one of the same upload is refused.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image

from assets import filetypes
from assets.models import Media, MediaType, human_size
from portal import audit
from portal.audit import Actor

__all__ = ["DEFAULT_MAX_BYTES", "THUMBNAIL_BOX", "Checked", "Refusal", "UploadResult", "check_file", "clean_name",
           "create_media", "delete_media", "max_bytes", "upload_media"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 500 * 1024 * 1024  # spec rule 29: media ≤ 500 MB per file
THUMBNAIL_BOX = (320, 320)
NAME_MAX = 255
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


def max_bytes() -> int:
    """The largest file accepted, in bytes (``HERALD_MEDIA_MAX_BYTES``)."""
    return int(getattr(settings, "HERALD_MEDIA_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass
class Checked:
    kind: filetypes.Kind
    size: int
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumbnail_ext: str = ""


@dataclass
class Refusal:
    name: str
    error: str


@dataclass
class UploadResult:
    saved: list[Media] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def clean_name(raw) -> str:
    """The uploaded name as shown and downloaded: no folders, no control characters, at most
    255 characters (the extension kept)."""
    name = str(raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    if len(name) > NAME_MAX:
        base, dot, ext = name.rpartition(".")
        if dot and base and len(ext) < 20:
            name = base[: NAME_MAX - len(ext) - 1] + "." + ext
        else:
            name = name[:NAME_MAX]
    return name or "file"


def _size_of(upload) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
        upload.seek(0)
    return int(size)


def check_file(upload, name: str) -> Checked:
    """Check one uploaded file; raises a ``ValidationError`` with the reason (without the
    file's name) when it is refused."""
    size = _size_of(upload)
    if size == 0:
        raise ValidationError(_("the file is empty."))
    limit = max_bytes()
    if size > limit:
        raise ValidationError(_("the file is %(size)s; the most is %(max)s.")
                              % {"size": human_size(size), "max": human_size(limit)})
    try:
        kind = filetypes.sniff(upload, name)
    except filetypes.Unsupported as exc:
        raise ValidationError(str(exc))
    checked = Checked(kind=kind, size=size)
    if kind.media_type == MediaType.IMAGE:
        _check_image(upload, checked)
    return checked


def _open_image(upload, kind):
    upload.seek(0)
    return Image.open(upload, formats=[kind.pillow])


def _too_many_pixels() -> ValidationError:
    return ValidationError(_("the image has too many pixels to be processed safely (the most is %(max)s million "
                             "pixels).") % {"max": f"{(Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f}"})


def _check_image(upload, checked: Checked) -> None:
    """Decode the image (first frame): its pixel size, a thumbnail; refuse damaged images and
    decompression bombs (more pixels than ``Image.MAX_IMAGE_PIXELS``: Pillow itself only warns
    up to twice that; the check here is explicit, as warning filters are process-wide)."""
    kind = checked.kind
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with _open_image(upload, kind) as image:
            width, height = image.size
            if limit and width * height > limit:
                raise _too_many_pixels()
            image.verify()
        with _open_image(upload, kind) as image:
            orientation = image.getexif().get(0x0112, 1)
            image.draft("RGB", (THUMBNAIL_BOX[0] * 2, THUMBNAIL_BOX[1] * 2))  # JPEG: decode at a smaller scale
            image.load()
            checked.thumbnail, checked.thumbnail_ext = _thumbnail(image, orientation)
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels()
    except Exception:  # Pillow raises many kinds of errors on broken data
        raise ValidationError(_("the image is damaged or cannot be read as %(format)s.") % {"format": kind.format})
    finally:
        upload.seek(0)
    if orientation in (5, 6, 7, 8):  # the camera stored it turned: show the size as seen
        width, height = height, width
    checked.width, checked.height = width, height


def _thumbnail(image, orientation) -> tuple[bytes | None, str]:
    """A small PNG (when the image has transparency) or JPEG of the loaded first frame."""
    try:
        frame = image.convert("RGBA")
        frame.thumbnail(THUMBNAIL_BOX)
        if orientation in _TRANSPOSE:
            frame = frame.transpose(_TRANSPOSE[orientation])
        out = io.BytesIO()
        if frame.getextrema()[3][0] < 255:
            frame.save(out, "PNG", optimize=True)
            return out.getvalue(), "png"
        frame.convert("RGB").save(out, "JPEG", quality=82)
        return out.getvalue(), "jpg"
    except Exception:  # an exotic pixel mode: the file is fine, it just has no preview
        logger.warning("No thumbnail for a %s image", image.format, exc_info=True)
        return None, ""


def _uploader(actor: Actor):
    user = actor.user
    return user if isinstance(user, get_user_model()) else None


def create_media(*, actor: Actor, company, upload, name: str | None = None) -> Media:
    """Check ``upload`` and save it as the company's media. Raises a ``ValidationError``
    with the reason when refused (nothing is stored then)."""
    name = clean_name(name if name is not None else getattr(upload, "name", ""))
    checked = check_file(upload, name)
    kind = checked.kind
    media = Media(company=company, name=name, media_type=kind.media_type, format=kind.format, mime_type=kind.mime,
                  width=checked.width, height=checked.height, size=checked.size, created_by=_uploader(actor))
    storage = media.file.storage
    stored: list[str] = []
    try:
        with transaction.atomic():
            upload.seek(0)
            media.file.save(f"upload.{kind.extension}", upload, save=False)
            stored.append(media.file.name)
            if checked.thumbnail:
                media.thumbnail.save(f"thumb.{checked.thumbnail_ext}", ContentFile(checked.thumbnail), save=False)
                stored.append(media.thumbnail.name)
            media.save()
            audit.record(actor, "Uploaded media", [audit.created(media)], company=company)
    except BaseException:
        for stored_name in stored:
            storage.delete(stored_name)
        raise
    return media


def upload_media(*, actor: Actor, company, files) -> UploadResult:
    """Save each good file of one upload; the refused ones are listed with their reasons."""
    result = UploadResult()
    files = list(files or [])
    if not files:
        result.refused.append(Refusal("", _("Choose at least one file.")))
        return result
    for upload in files:
        name = clean_name(getattr(upload, "name", ""))
        try:
            result.saved.append(create_media(actor=actor, company=company, upload=upload, name=name))
        except ValidationError as exc:
            result.refused.append(Refusal(name, " ".join(exc.messages)))
    return result


def delete_media(*, actor: Actor, media: Media) -> None:
    """Delete ``media``; its file and thumbnail are removed once the deletion commits."""
    with transaction.atomic():
        current = Media.objects.select_for_update().filter(pk=media.pk, company_id=media.company_id).first()
        if current is None:  # already deleted meanwhile
            return
        before, pk = audit.snapshot(current), current.pk
        current.delete()
        audit.record(actor, "Deleted media", [audit.deleted(current, before, pk=pk)], company=media.company)

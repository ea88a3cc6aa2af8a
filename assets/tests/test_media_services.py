"""Media uploads and deletes (spec P§11.1, rule 29): checked by content, refused with a
reason and leaving nothing behind, thumbnails and pixel sizes, several files at once, files
removed with their row, every write audited."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from assets.models import Media
from assets.services import media as services
from assets.tests import factories as f
from portal import audit
from portal.audit import Actor
from portal.models import AuditDetail, AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(admin_user, company):
    return Actor(user=admin_user, company=company, ip="127.0.0.1")


def stored_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def create(actor, company, name, content):
    return services.create_media(actor=actor, company=company, upload=f.upload(name, content))


def test_png_is_saved_with_its_size_weight_and_a_thumbnail(actor, company, settings):
    content = f.png((314, 400))
    media = create(actor, company, "Summer sale.png", content)
    assert (media.name, media.media_type, media.format, media.mime_type) == ("Summer sale.png", "image", "PNG",
                                                                             "image/png")
    assert (media.width, media.height, media.size) == (314, 400, len(content))
    assert media.dimensions == "314 x 400 px"
    assert media.created_by == actor.user
    # stored under media/<company id>/ with a random, unguessable name and the real extension
    assert re.fullmatch(rf"media/{company.pk}/[0-9a-f]{{32}}\.png", media.file.name)
    assert re.fullmatch(rf"media/{company.pk}/thumbs/[0-9a-f]{{32}}\.jpg", media.thumbnail.name)
    assert (settings.MEDIA_ROOT / media.file.name).read_bytes() == content
    with Image.open(settings.MEDIA_ROOT / media.thumbnail.name) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= 320 and thumb.size[1] == 320  # the long side scaled to the box


def test_two_uploads_of_the_same_name_get_different_files(actor, company):
    a = create(actor, company, "logo.png", f.png())
    b = create(actor, company, "logo.png", f.png())
    assert a.file.name != b.file.name and a.name == b.name == "logo.png"


def test_jpeg_gif_mp4_pdf_mp3_docx(actor, company, settings):
    jpg = create(actor, company, "photo.jpeg", f.jpg((640, 480)))
    assert (jpg.format, jpg.width, jpg.height) == ("JPG", 640, 480)
    assert jpg.file.name.endswith(".jpg")
    gif = create(actor, company, "anim.gif", f.gif((120, 80)))
    assert (gif.format, gif.media_type, gif.width, gif.height) == ("GIF", "image", 120, 80)
    with Image.open(settings.MEDIA_ROOT / gif.thumbnail.name) as thumb:  # the first frame: red
        r, g, b = thumb.convert("RGB").getpixel((thumb.width // 2, thumb.height // 2))
        assert r > 200 and g < 60 and b < 60
    for name, content, fmt, media_type in (("clip.mp4", f.mp4(), "MP4", "video"), ("terms.pdf", f.pdf(), "PDF",
                                           "document"), ("jingle.mp3", f.mp3(), "MP3", "audio"),
                                           ("offer.docx", f.docx(), "DOCX", "document")):
        media = create(actor, company, name, content)
        assert (media.format, media.media_type, media.width, media.height) == (fmt, media_type, None, None)
        assert not media.thumbnail
        assert media.file.name.endswith("." + name.rsplit(".", 1)[1])


def test_transparent_png_gets_a_png_thumbnail(actor, company, settings):
    media = create(actor, company, "badge.png", f.png((64, 64), mode="RGBA", color=(255, 0, 0, 0)))
    assert media.thumbnail.name.endswith(".png")
    with Image.open(settings.MEDIA_ROOT / media.thumbnail.name) as thumb:
        assert thumb.mode == "RGBA" and thumb.getpixel((1, 1))[3] == 0


def test_exif_rotated_photo_reports_the_size_as_seen(actor, company):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned 90°: shown as portrait
    media = create(actor, company, "phone.jpg", f.jpg((400, 300), exif=exif))
    assert (media.width, media.height) == (300, 400)


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("setup.png", f.exe(), "the content is a Windows program, which is not accepted."),
    ("notes.png", b"I am a text file\n", "the content is not a valid PNG file."),
    ("photo.png", f.jpg(), "the name ends in .png but the content is JPG."),
    ("broken.png", f.png()[:60], "the image is damaged or cannot be read as PNG."),
    ("empty.pdf", b"", "the file is empty."),
])
def test_refused_files_leave_no_row_and_no_file(actor, company, settings, name, content, reason):
    with pytest.raises(ValidationError) as exc:
        create(actor, company, name, content)
    assert exc.value.messages == [reason]
    assert not Media.objects.exists()
    assert stored_files(settings) == []
    assert not AuditEvent.objects.filter(action="Uploaded media").exists()


def test_size_limit_is_the_setting(actor, company, settings):
    settings.HERALD_MEDIA_MAX_BYTES = 1024
    with pytest.raises(ValidationError) as exc:
        create(actor, company, "big.pdf", b"%PDF-1.4\n" + b"%" * (2048 + 512 - 9))
    assert exc.value.messages == ["the file is 2.50 KB; the most is 1.00 KB."]
    assert stored_files(settings) == []
    assert create(actor, company, "small.pdf", f.pdf()).size == len(f.pdf())


def test_default_limit_is_500_mb(settings):
    if hasattr(settings, "HERALD_MEDIA_MAX_BYTES"):
        del settings.HERALD_MEDIA_MAX_BYTES
    assert services.max_bytes() == 500 * 1024 * 1024


def test_decompression_bomb_is_refused(actor, company, settings):
    with pytest.raises(ValidationError) as exc:
        create(actor, company, "bomb.png", f.png_bomb(60000, 60000))
    assert "too many pixels" in exc.value.messages[0]
    # just above Pillow's limit, where Pillow itself only warns, is refused too
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(ValidationError, match="too many pixels"):
        create(actor, company, "big.png", f.png_bomb(10000, 9000))
    assert not Media.objects.exists() and stored_files(settings) == []


def test_several_files_one_bad(actor, company, settings):
    result = services.upload_media(actor=actor, company=company, files=[
        f.upload("one.png", f.png()), f.upload("evil.png", f.exe()), f.upload("two.pdf", f.pdf())])
    assert [m.name for m in result.saved] == ["one.png", "two.pdf"]
    assert [(r.name, r.error) for r in result.refused] == [
        ("evil.png", "the content is a Windows program, which is not accepted.")]
    assert Media.objects.count() == 2
    assert len(stored_files(settings)) == 3  # two files and one thumbnail


def test_no_file_at_all(actor, company):
    result = services.upload_media(actor=actor, company=company, files=[])
    assert result.saved == [] and [r.error for r in result.refused] == ["Choose at least one file."]


def test_a_failure_after_the_file_is_stored_removes_it(actor, company, settings, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(audit, "record", boom)
    with pytest.raises(RuntimeError):
        create(actor, company, "one.png", f.png())
    assert not Media.objects.exists()
    assert stored_files(settings) == []


def test_names_are_cleaned(actor, company):
    media = create(actor, company, "C:\\Users\\ada\\My\x07 photo.png", f.png())
    assert media.name == "My photo.png"
    assert services.clean_name("x" * 300 + ".png") == "x" * 251 + ".png"


def test_upload_is_audited(actor, company):
    media = create(actor, company, "one.png", f.png())
    event = AuditEvent.objects.get(action="Uploaded media")
    assert (event.company, event.user) == (company, actor.user)
    detail = AuditDetail.objects.get(event=event)
    assert (detail.table, detail.operation, detail.object_id) == ("assets_media", AuditDetail.Operation.INSERT, str(media.pk))
    assert detail.new_value["name"] == "one.png" and detail.new_value["file"] == media.file.name


def test_delete_removes_row_and_files_after_commit(actor, company, settings, django_capture_on_commit_callbacks):
    media = create(actor, company, "one.png", f.png())
    other = create(actor, company, "two.png", f.png())
    assert len(stored_files(settings)) == 4
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_media(actor=actor, media=media)
    assert list(Media.objects.all()) == [other]
    assert sorted(stored_files(settings)) == sorted([other.file.name, other.thumbnail.name])
    detail = AuditDetail.objects.get(event__action="Deleted media")
    assert (detail.operation, detail.object_id, detail.old_value["name"]) == (AuditDetail.Operation.DELETE, str(media.pk), "one.png")


def test_files_stay_when_the_delete_rolls_back(actor, company, settings, django_capture_on_commit_callbacks):
    media = create(actor, company, "one.png", f.png())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.delete_media(actor=actor, media=media)
    assert callbacks  # the removal waits for the commit
    assert len(stored_files(settings)) == 2


def test_bytes_are_read_from_a_temporary_upload_too(actor, company, settings):
    """Large uploads arrive as temporary files (moved into the storage, not copied)."""
    from django.core.files.uploadedfile import TemporaryUploadedFile

    content = f.jpg((50, 50))
    upload = TemporaryUploadedFile("big.jpg", "image/jpeg", len(content), None)
    upload.write(content)
    upload.seek(0)
    media = services.create_media(actor=actor, company=company, upload=upload)
    upload.close()  # as the request does at its end (the file was moved away)
    assert (settings.MEDIA_ROOT / media.file.name).read_bytes() == content
    assert (media.width, media.height) == (50, 50) and media.thumbnail


@pytest.mark.parametrize(("name", "fmt"), [("a.webp", "WEBP"), ("a.bmp", "BMP"), ("a.avif", "AVIF")])
def test_other_image_formats_get_size_and_thumbnail(actor, company, name, fmt):
    media = create(actor, company, name, f.image_bytes(fmt, (90, 60)))
    assert (media.format, media.media_type, media.width, media.height) == (fmt, "image", 90, 60)
    assert media.thumbnail


def test_pixel_limit_is_pillows_max_image_pixels(actor, company, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)
    assert create(actor, company, "small.png", f.png((30, 50))).width == 30  # 1,500 pixels: accepted
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(ValidationError, match="too many pixels"):
        create(actor, company, "large.png", f.png((40, 40)))

"""Content templates and media files for tests; sample files of each kind made in memory."""

from __future__ import annotations

import io
import itertools
import struct
import zipfile
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from assets.models import ContentTemplate, Media
from portal.audit import Actor
from portal.channel_types import Channel

_seq = itertools.count(1)


def content_template(company, *, channel: int = Channel.SMS, content: dict | None = None, name: str | None = None,
                     sender: str = "", created_by=None) -> ContentTemplate:
    if content is None:
        content = {"text": "Hi {{attribute.name}}"}
    return ContentTemplate.objects.create(company=company, channel=channel, content=content, sender=sender,
                                          name=name or f"Template {next(_seq)}", created_by=created_by)


# --- sample files ---------------------------------------------------------------------------------

def image_bytes(fmt: str = "PNG", size=(314, 400), color=(26, 115, 232), mode: str = "RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def png(size=(314, 400), **kw) -> bytes:
    return image_bytes("PNG", size, **kw)


def jpg(size=(640, 480), **kw) -> bytes:
    return image_bytes("JPEG", size, **kw)


def gif(size=(120, 80), frames: int = 3) -> bytes:
    """An animated GIF: the first frame red, then others."""
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", size, colors[i % len(colors)]) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(brand: bytes = b"isom") -> bytes:
    """A minimal ISO base media file: ftyp, an empty moov and mdat."""
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    return ftyp + _box(b"free", b"") + _box(b"mdat", b"\x00" * 64) + _box(b"moov", _box(b"mvhd", b"\x00" * 100))


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def mp3() -> bytes:
    """An ID3 tag followed by MPEG-1 layer III frames (128 kbit/s, 44.1 kHz)."""
    tag = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413
    return tag + frame * 4


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"This program cannot be run in DOS mode."


def png_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG whose header claims a huge picture (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def media(company, *, name: str = "picture.png", content: bytes | None = None, user=None) -> Media:
    """A media file saved through the upload service (checked, with its thumbnail)."""
    from assets.services import media as services

    actor = Actor(user=user, company=company)
    return services.create_media(actor=actor, company=company, upload=upload(name, content if content is not None
                                                                              else png()))

"""The content sniffer (``assets.filetypes``): a file's type comes from its bytes; a name
whose extension says another type is refused; known dangerous types are named."""

from __future__ import annotations

import io

import pytest

from assets import filetypes
from assets.tests import factories as f


def sniff(name, content):
    return filetypes.sniff(io.BytesIO(content), name)


@pytest.mark.parametrize(("name", "content", "fmt", "media_type"), [
    ("a.png", f.png(), "PNG", "image"),
    ("a.jpeg", f.jpg(), "JPG", "image"),
    ("a.gif", f.gif(), "GIF", "image"),
    ("a.webp", f.image_bytes("WEBP"), "WEBP", "image"),
    ("a.bmp", f.image_bytes("BMP"), "BMP", "image"),
    ("a.mp4", f.mp4(), "MP4", "video"),
    ("a.mov", f.mp4(b"qt  "), "MOV", "video"),
    ("a.m4a", f.mp4(b"M4A "), "M4A", "audio"),
    ("a.3gp", f.mp4(b"3gp5"), "3GP", "video"),
    ("a.mp3", f.mp3(), "MP3", "audio"),
    ("a.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40, "WAV", "audio"),
    ("a.ogg", b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x1eOpusHead" + b"\x00" * 30, "OGG", "audio"),
    ("a.webm", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 20, "WEBM", "video"),
    ("a.pdf", f.pdf(), "PDF", "document"),
    ("a.docx", f.docx(), "DOCX", "document"),
    ("notes.txt", "Hola, ¿qué tal?\nLine two\n".encode(), "TXT", "document"),
    ("list.csv", b"name,phone\nAda,+34600000000\n", "CSV", "document"),
    ("README", b"plain words\n", "TXT", "document"),  # no extension: the content decides
    ("PHOTO.JPG", f.jpg(), "JPG", "image"),  # the extension in any case
])
def test_supported_kinds_are_recognised_by_content(name, content, fmt, media_type):
    kind = sniff(name, content)
    assert (kind.format, kind.media_type) == (fmt, media_type)


def test_a_file_without_extension_is_typed_by_content():
    assert sniff("scan", f.pdf()).format == "PDF"
    assert sniff("photo", f.png()).extension == "png"


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("setup.png", f.exe(), "the content is a Windows program, which is not accepted."),
    ("setup.exe", f.exe(), "the content is a Windows program, which is not accepted."),
    ("run.mp4", b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "the content is a Linux program, which is not accepted."),
    ("notes.png", b"just some text, not an image\n", "the content is not a valid PNG file."),
    ("photo.png", f.jpg(), "the name ends in .png but the content is JPG."),
    ("movie.pdf", f.mp4(), "the name ends in .pdf but the content is MP4."),
    ("page.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "the content is an HTML page"),
    ("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "SVG image"),
    ("backup.zip", b"PK\x03\x04" + b"\x00" * 30, "ZIP archive"),
    ("data.bin", bytes(range(256)) * 4, "this type of file is not supported. Supported: images"),
    ("shot.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC image"),
])
def test_refused_files_say_why(name, content, reason):
    with pytest.raises(filetypes.Unsupported) as exc:
        sniff(name, content)
    assert reason in str(exc.value)


def test_a_real_zip_archive_that_is_not_an_office_file_is_refused():
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.exe", "MZ")
    with pytest.raises(filetypes.Unsupported, match="the content is a ZIP archive"):
        sniff("report.docx", buffer.getvalue())


def test_binary_named_txt_is_not_text():
    with pytest.raises(filetypes.Unsupported, match="not a valid TXT file"):
        sniff("notes.txt", b"abc\x00\x01\x02def")


def test_legacy_office_files_take_the_format_of_their_extension():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    assert sniff("budget.xls", ole).format == "XLS"
    assert sniff("letter.doc", ole).format == "DOC"
    with pytest.raises(filetypes.Unsupported):
        sniff("installer.msi", ole)

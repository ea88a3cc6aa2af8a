"""What a file *is*, read from its content (magic bytes), never from its name.

:func:`sniff` returns the supported :class:`Kind` the content matches, or raises
:class:`Unsupported` with a user-facing reason. A file whose name has an extension must
carry one of its kind's extensions (``photo.png`` holding a JPEG, or ``setup.exe`` renamed
``setup.png``, is refused); a name without an extension is accepted.

No dependency: a small signature table (the formats a broadcast or a chatbot can send),
``zipfile`` for the Office Open XML and OpenDocument formats, a UTF-8 check for plain text.
Images are then opened with Pillow by ``assets.services.media`` (a PNG signature followed
by garbage is refused there). SVG and HTML are refused on purpose: they can carry scripts
and are served from the portal's own origin.
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assets.models import MediaType

HEAD_BYTES = 4096
TEXT_CHECK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Kind:
    format: str  # shown in the table: "PNG", "MP4", "PDF" …
    media_type: str  # MediaType
    mime: str
    extensions: tuple[str, ...]  # accepted extensions of the uploaded name; the first is stored
    pillow: str | None = None  # Pillow's format name, for images

    @property
    def extension(self) -> str:
        return self.extensions[0]


IMAGE, VIDEO, AUDIO, DOCUMENT = MediaType.IMAGE, MediaType.VIDEO, MediaType.AUDIO, MediaType.DOCUMENT
JPG = Kind("JPG", IMAGE, "image/jpeg", ("jpg", "jpeg", "jpe", "jfif"), "JPEG")
PNG = Kind("PNG", IMAGE, "image/png", ("png",), "PNG")
GIF = Kind("GIF", IMAGE, "image/gif", ("gif",), "GIF")
WEBP = Kind("WEBP", IMAGE, "image/webp", ("webp",), "WEBP")
BMP = Kind("BMP", IMAGE, "image/bmp", ("bmp",), "BMP")
AVIF = Kind("AVIF", IMAGE, "image/avif", ("avif",), "AVIF")
MP4 = Kind("MP4", VIDEO, "video/mp4", ("mp4", "m4v"))
MOV = Kind("MOV", VIDEO, "video/quicktime", ("mov", "qt"))
THREE_GP = Kind("3GP", VIDEO, "video/3gpp", ("3gp", "3g2"))
WEBM = Kind("WEBM", VIDEO, "video/webm", ("webm",))
MKV = Kind("MKV", VIDEO, "video/x-matroska", ("mkv",))
AVI = Kind("AVI", VIDEO, "video/x-msvideo", ("avi",))
MPEG = Kind("MPEG", VIDEO, "video/mpeg", ("mpg", "mpeg"))
OGV = Kind("OGV", VIDEO, "video/ogg", ("ogv", "ogg"))
MP3 = Kind("MP3", AUDIO, "audio/mpeg", ("mp3",))
AAC = Kind("AAC", AUDIO, "audio/aac", ("aac",))
M4A = Kind("M4A", AUDIO, "audio/mp4", ("m4a", "m4b", "mp4"))
OGG = Kind("OGG", AUDIO, "audio/ogg", ("ogg", "oga", "opus"))
WAV = Kind("WAV", AUDIO, "audio/wav", ("wav",))
FLAC = Kind("FLAC", AUDIO, "audio/flac", ("flac",))
AMR = Kind("AMR", AUDIO, "audio/amr", ("amr",))
AIFF = Kind("AIFF", AUDIO, "audio/aiff", ("aiff", "aif", "aifc"))
MIDI = Kind("MIDI", AUDIO, "audio/midi", ("mid", "midi"))
PDF = Kind("PDF", DOCUMENT, "application/pdf", ("pdf",))
RTF = Kind("RTF", DOCUMENT, "application/rtf", ("rtf",))
DOCX = Kind("DOCX", DOCUMENT, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",))
XLSX = Kind("XLSX", DOCUMENT, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",))
PPTX = Kind("PPTX", DOCUMENT, "application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",))
ODT = Kind("ODT", DOCUMENT, "application/vnd.oasis.opendocument.text", ("odt",))
ODS = Kind("ODS", DOCUMENT, "application/vnd.oasis.opendocument.spreadsheet", ("ods",))
ODP = Kind("ODP", DOCUMENT, "application/vnd.oasis.opendocument.presentation", ("odp",))
DOC = Kind("DOC", DOCUMENT, "application/msword", ("doc",))
XLS = Kind("XLS", DOCUMENT, "application/vnd.ms-excel", ("xls",))
PPT = Kind("PPT", DOCUMENT, "application/vnd.ms-powerpoint", ("ppt",))
TXT = Kind("TXT", DOCUMENT, "text/plain", ("txt", "text", "log"))
CSV = Kind("CSV", DOCUMENT, "text/csv", ("csv", "tsv"))

KINDS = (JPG, PNG, GIF, WEBP, BMP, AVIF, MP4, MOV, THREE_GP, WEBM, MKV, AVI, MPEG, OGV, MP3, AAC, M4A, OGG, WAV,
         FLAC, AMR, AIFF, MIDI, PDF, RTF, DOCX, XLSX, PPTX, ODT, ODS, ODP, DOC, XLS, PPT, TXT, CSV)
BY_EXTENSION: dict[str, Kind] = {}
for _kind in KINDS:
    for _ext in _kind.extensions:
        BY_EXTENSION.setdefault(_ext, _kind)
OLE_KINDS = {"doc": DOC, "xls": XLS, "ppt": PPT}  # the legacy Office formats share one container
TEXT_KINDS = {ext: kind for kind in (TXT, CSV) for ext in kind.extensions}

# ISO base media (ftyp) major brands.
MP4_BRANDS = {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9", "mp41", "mp42", "mp71", "avc1",
              "dash", "msnv", "ndas", "mmp4", "m4v ", "m4vh", "m4vp", "xavc", "f4v "}
M4A_BRANDS = {"m4a ", "m4b ", "m4p "}
AVIF_BRANDS = {"avif", "avis"}
HEIF_BRANDS = {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"}

SUPPORTED_SUMMARY = gettext_lazy(
    "Supported: images (JPG, PNG, GIF, WEBP, BMP, AVIF), video (MP4, MOV, 3GP, WEBM, MKV, AVI, MPEG, OGV), "
    "audio (MP3, AAC, M4A, OGG, WAV, FLAC, AMR, AIFF, MIDI) and documents (PDF, DOC, DOCX, XLS, XLSX, PPT, "
    "PPTX, ODT, ODS, ODP, RTF, TXT, CSV).")


class Unsupported(Exception):
    """The content is not a supported type, or the name lies about it; ``str()`` says why."""


def extension_of(name: str) -> str:
    _base, dot, ext = (name or "").rpartition(".")
    return ext.lower() if dot and _base and ext.isalnum() else ""


def sniff(upload, name: str) -> Kind:
    """The supported kind of ``upload`` (a binary file object, read from its start), checked
    against ``name``'s extension. Raises :class:`Unsupported` with the reason."""
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    ext = extension_of(name)
    kind = _match(head, upload, ext)
    if isinstance(kind, str):  # a known type that is refused
        raise Unsupported(_("the content is %(what)s, which is not accepted.") % {"what": kind})
    if kind is None:
        expected = BY_EXTENSION.get(ext)
        if expected is not None:
            raise Unsupported(_("the content is not a valid %(format)s file.") % {"format": expected.format})
        raise Unsupported(_("this type of file is not supported. %(supported)s") % {"supported": SUPPORTED_SUMMARY})
    if ext and ext not in kind.extensions:
        raise Unsupported(_("the name ends in .%(ext)s but the content is %(format)s.")
                          % {"ext": ext, "format": kind.format})
    return kind


def _match(head: bytes, upload, ext: str) -> Kind | str | None:
    """A :class:`Kind`, a description of a known but refused type, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WEBP": WEBP, b"WAVE": WAV, b"AVI ": AVI}.get(head[8:12])
    if head.startswith(b"BM") and len(head) >= 26 and head[6:10] == b"\0\0\0\0":  # reserved fields are zero
        return BMP
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML
        if b"webm" in head[:64]:
            return WEBM
        if b"matroska" in head[:64]:
            return MKV
        return None
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return MPEG
    if head.startswith(b"OggS"):
        return OGV if b"\x80theora" in head[:512] else OGG
    if head.startswith(b"ID3"):
        return _after_id3(head, upload)
    audio = _mpeg_audio(head[:4])
    if audio is not None:
        return audio
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"#!AMR"):
        return AMR
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return AIFF
    if head.startswith(b"MThd"):
        return MIDI
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"{\\rtf"):
        return RTF
    if head.startswith(b"PK\x03\x04"):
        return _zip_document(upload)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: .doc, .xls, .ppt (and .msi…)
        return OLE_KINDS.get(ext)
    refused = _refused(head)
    if refused is not None:
        return refused
    if (not ext or ext in TEXT_KINDS) and _is_text(upload):  # text has no signature: only text names
        return TEXT_KINDS.get(ext, TXT)
    return None


def _iso_media(head: bytes) -> Kind | str | None:
    brand = head[8:12].decode("latin-1").lower()
    if brand == "qt  ":
        return MOV
    if brand in M4A_BRANDS:
        return M4A
    if brand.startswith("3g"):
        return THREE_GP
    if brand in AVIF_BRANDS:
        return AVIF
    if brand in HEIF_BRANDS:
        return _("a HEIC image (convert it to JPG or PNG)")
    if brand in MP4_BRANDS:
        return MP4
    return None


def _mpeg_audio(frame: bytes) -> Kind | None:
    """An MP3 (MPEG audio layer III) or AAC (ADTS) frame header."""
    if len(frame) < 4 or frame[0] != 0xFF:
        return None
    b1 = frame[1]
    if b1 & 0xF6 == 0xF0:  # ADTS: sync 12 bits, layer 00
        return AAC
    if b1 & 0xE0 == 0xE0 and (b1 >> 1) & 0x3 == 0x1 and (b1 >> 3) & 0x3 != 0x1:  # layer III, a valid version
        bitrate, rate = frame[2] >> 4, (frame[2] >> 2) & 0x3
        if bitrate not in (0x0, 0xF) and rate != 0x3:
            return MP3
    return None


def _after_id3(head: bytes, upload) -> Kind | None:
    """An ID3 tag is followed by MPEG audio frames: MP3 or AAC."""
    if len(head) < 10:
        return None
    size = ((head[6] & 0x7F) << 21) | ((head[7] & 0x7F) << 14) | ((head[8] & 0x7F) << 7) | (head[9] & 0x7F)
    upload.seek(10 + size + (10 if head[5] & 0x10 else 0))
    frame = upload.read(4)
    upload.seek(0)
    return _mpeg_audio(frame)


_ODF = {"application/vnd.oasis.opendocument.text": ODT, "application/vnd.oasis.opendocument.spreadsheet": ODS,
        "application/vnd.oasis.opendocument.presentation": ODP}
_OOXML = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))


def _zip_document(upload) -> Kind | str:
    """A ZIP container: an Office Open XML or OpenDocument file, else a plain archive (refused).
    Only the central directory is read."""
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 100:
                    kind = _ODF.get(archive.read("mimetype").decode("ascii", "replace").strip())
                    if kind is not None:
                        return kind
            if "[Content_Types].xml" in names:
                for prefix, kind in _OOXML:
                    if any(n.startswith(prefix) for n in names):
                        return kind
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, NotImplementedError):
        return _("a damaged ZIP archive")
    finally:
        upload.seek(0)
    return _("a ZIP archive")


def _refused(head: bytes) -> str | None:
    if head.startswith(b"MZ"):
        return _("a Windows program")
    if head.startswith(b"\x7fELF"):
        return _("a Linux program")
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                    b"\xca\xfe\xba\xbe"):
        return _("a program")
    if head.startswith(b"#!"):
        return _("a script")
    if head.startswith((b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        return _("an archive")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<script", b"<body", b"<head", b"<iframe")):
        return _("an HTML page")
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return _("an SVG image (it can carry scripts)")
    return None


def _is_text(upload) -> bool:
    """UTF-8 text without NUL or other control characters (tab, line breaks and form feed
    allowed), judged on the first 64 KB."""
    upload.seek(0)
    sample = upload.read(TEXT_CHECK_BYTES + 1)
    upload.seek(0)
    if not sample:
        return False
    complete = len(sample) <= TEXT_CHECK_BYTES
    sample = sample[:TEXT_CHECK_BYTES]
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and c not in "\t\n\r\f" or c == "\x7f" for c in text)

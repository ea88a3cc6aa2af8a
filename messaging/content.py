"""Message content per channel: the one schema used by the message constructor, content
templates, broadcast steps and the Omni API ``payload`` (spec P§5, P§0.4, rules 14–16 and 19
of P§25). ``validate_content`` says what is wrong with a payload; ``prepare_content`` adds
what a send needs (the e-mail's HTML from its blocks); ``sms_counter`` is the SMS counter.

Every string of a payload may hold placeholders (``{{attribute.name}}``, ``{{1}}``…), filled
at send time by ``messaging.rendering.render_content``. Limits count the text as written
(a placeholder counts as the characters typed), in Unicode characters. Keys not listed below
are ignored (kept, never read). Times are ISO 8601.

SMS (1)
    ``{"text": str}`` — required; at most ``SMS_MAX_SEGMENTS`` (10) parts, i.e. 1,530
    GSM-7 septets or 670 UCS-2 units (``messaging.encoding``).

RCS (2)
    ``{"type": "text" | "file" | "card" | "carousel", …, "suggestions": [suggestion]}``;
    ``type`` defaults to ``"text"``; ``suggestions`` (optional, at most 11) are the chips
    shown under the message.

    * ``text``: ``"text"`` required, at most 3,072 characters (the RBM limit);
    * ``file``: ``"file": {"url", "name"}`` — ``url`` required (http/https);
    * ``card``: ``"card": card``;
    * ``carousel``: ``"cards": [card, …]`` — 2 to 12 cards.

    card = ``{"title" ≤ 200, "text" ≤ 2000, "image": {"url"}, "layout": "vertical" |
    "horizontal", "height": "short" | "medium" | "tall", "suggestions": [≤ 4 suggestion]}``
    — at least a title, a text or an image; ``layout`` defaults to vertical and ``height``
    (of the image) to medium; in a carousel ``layout`` is ignored (cards are vertical).

    suggestion = ``{"kind": "reply" | "action", "text" ≤ 25 (required), …}``; a reply
    sends its text back as an MO. An action has ``"action"`` and its fields:

    * ``"url"``: ``"url"`` (required, http:// or https://) — opens in the browser;
    * ``"dial"``: ``"phone"`` (required: digits, an optional leading +, spaces or dashes),
      ``"dial_type": "phone" | "enriched" | "video"`` (default phone), ``"fallback_url"``;
    * ``"map"``: ``"mode": "coordinates" | "query"`` (default coordinates) with
      ``"latitude"`` (−90…90) and ``"longitude"`` (−180…180) as decimal numbers (or strings
      of them), or ``"query"``; ``"label"`` (the map title), ``"fallback_url"``;
    * ``"location_request"``: nothing more (asks the contact for their location);
    * ``"calendar"``: ``"title"`` (required, ≤ 100), ``"start"`` and ``"end"`` (required,
      ISO 8601; the end after the start; both with an offset or both without — without
      one they are in the company's time zone), ``"description"`` (≤ 500),
      ``"fallback_url"``.

Viber (3)
    ``{"type": "text" | "file" | "text_button" | "text_media_button", …}``; ``type``
    defaults to ``"text"``:

    * ``text``: ``"text"`` required, at most 1,000 characters;
    * ``file``: ``"file": {"url", "name", "size"}`` — ``url`` required; the extension
      (of ``name``, else of the URL) one of ``VIBER_FILE_EXTENSIONS``; ``size`` in bytes,
      when given, at most 200 MB;
    * ``text_button``: ``"text"`` and ``"button": {"text" ≤ 30, "url"}``, all required;
    * ``text_media_button``: the same plus ``"image": {"url"}`` (required).

WhatsApp (4)
    ``type`` defaults to ``"template"`` when a ``"template"`` key is present, else
    ``"text"``.

    * ``template``: ``"template": {"name": [a-z0-9_]+ (≤ 512), "language": "en" |
      "en_US" | {"code": …, "policy": "deterministic"}, "params": [str, …] (the values of
      ``{{1}}``, ``{{2}}``… in order, at most 50, each ≤ 1,024), "namespace": str,
      "components": [object, …] (Cloud API components, passed through)}``;
    * ``text``: ``"text"`` required, ≤ 4,096; ``"preview_url": bool``;
    * ``card``: ``"header"`` ≤ 20, ``"text"`` required ≤ 1,024, ``"footer"`` ≤ 60,
      ``"media": {"url", "name"}``, ``"buttons": [{"text" ≤ 20}]`` (reply buttons, at
      most 3);
    * ``list``: ``"header"`` ≤ 60, ``"text"`` required ≤ 4,096, ``"footer"`` ≤ 60,
      ``"button"`` (the header of the whole list, required, ≤ 20), ``"sections":
      [{"title" ≤ 24, "options": [{"title" (required) ≤ 24, "description" ≤ 72}]}]`` — 1
      to 10 options in all; with several sections each needs a title;
    * ``file``: ``"file": {"url", "name"}`` — the extension one of
      ``WHATSAPP_FILE_EXTENSIONS``; ``"caption"`` ≤ 1,024;
    * ``location_request``: ``"text"`` required, ≤ 1,024;
    * ``location``: ``"latitude"``, ``"longitude"`` required; ``"name"``, ``"address"``
      ≤ 1,000 each.

Email (6)
    ``{"subject" (required, ≤ 200), "subtitle" (≤ 200, the inbox preview line),
    "blocks": [block, …] (≤ 100), "html", "text"}`` — a body is required: blocks, or an
    ``html`` or ``text`` body. When ``blocks`` are given, ``prepare_content`` writes
    ``html`` (``render_email_html``) and ``text`` (``render_email_text``) from them: the
    SMTP driver sends those. block =

    * ``{"type": "text", "text" (required, ≤ 10,000), "style": "paragraph" | "heading",
      "align": "left" | "center" | "right"}`` — blank lines split paragraphs;
    * ``{"type": "image", "url" (required), "alt" (≤ 200), "link" (URL), "width" (1…600
      px)}``;
    * ``{"type": "button", "text" (required, ≤ 100), "url" (required), "color":
      "#RRGGBB", "align"}``;
    * ``{"type": "divider"}``;
    * ``{"type": "spacer", "height": 4…200 px (default 24)}``;
    * ``{"type": "social", "links": [{"network", "url" (required), "label" (≤ 50)}] (1…10),
      "align" (default center)}`` — ``network`` one of ``EMAIL_SOCIAL_NETWORKS``; shown as
      coloured text badges (the label, else the network's name; a website's host);
    * ``{"type": "columns", "columns": [[block, …], …]}`` — 2 or 3 columns of the blocks
      above (not columns or wrappers), at least one block in all; they stack on phones;
    * ``{"type": "wrapper", "blocks": [block, …] (at least one, as in columns),
      "background": "#RGB" | "#RRGGBB" (default #f4f5f7), "padding": 0…64 px (default 16)}``.

    Errors inside containers have paths such as ``blocks[2].columns[1][0].url`` and
    ``blocks[3].blocks[0].text``; the blocks inside columns and wrappers count towards the
    100.

Push (8)
    ``{"title" ≤ 100, "text" ≤ 1,000, "image": {"url"}}`` — at least one of the three.

TTS (9)
    ``{"text" (required, ≤ 1,000), "language": "en" | "es" (default en), "repetitions":
    1…3 (default 1)}``.

Mobile Push (10)
    ``{"title" ≤ 100, "text" ≤ 1,000}`` — both required.

WeChat (5), Telegram (7)
    ``{"text"}`` — required; WeChat ≤ 2,048, Telegram ≤ 4,096.

Every URL must start with ``http://`` or ``https://`` and is at most 2,048 characters.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.utils.html import escape
from django.utils.translation import gettext as _

from messaging import encoding
from portal.channel_types import Channel

# --- limits (also sent to the constructor, which shows them as counters) -------------------

SMS_MAX_SEGMENTS = 10
URL_MAX = 2048

RCS_TYPES = ("text", "file", "card", "carousel")
RCS_TEXT_MAX = 3072
RCS_TITLE_MAX = 200
RCS_CARD_TEXT_MAX = 2000
RCS_SUGGESTION_TEXT_MAX = 25  # gap G15: 25, not the 20 of a screenshot
RCS_CARD_SUGGESTIONS_MAX = 4
RCS_CHIPS_MAX = 11
RCS_CAROUSEL_MIN, RCS_CAROUSEL_MAX = 2, 12
RCS_LAYOUTS = ("vertical", "horizontal")
RCS_HEIGHTS = ("short", "medium", "tall")
RCS_ACTIONS = ("url", "dial", "map", "location_request", "calendar")
RCS_DIAL_TYPES = ("phone", "enriched", "video")
RCS_MAP_MODES = ("coordinates", "query")
RCS_CALENDAR_TITLE_MAX = 100
RCS_CALENDAR_DESCRIPTION_MAX = 500

VIBER_TYPES = ("text", "file", "text_button", "text_media_button")
VIBER_TEXT_MAX = 1000
VIBER_BUTTON_TEXT_MAX = 30
VIBER_FILE_MAX_BYTES = 200 * 1024 * 1024
VIBER_FILE_EXTENSIONS = (
    "jpg", "jpeg", "png", "bmp", "gif", "svg", "mp4", "csv", "doc", "docx", "dot", "dotx", "eps", "fods", "fodt",
    "info", "odf", "ods", "odt", "pdax", "pdf", "rtf", "txt", "xls", "xlsx", "xltx", "xps")

WHATSAPP_TYPES = ("template", "text", "card", "list", "file", "location_request", "location")
WHATSAPP_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")
WHATSAPP_TEMPLATE_NAME_MAX = 512
WHATSAPP_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
WHATSAPP_PARAMS_MAX = 50
WHATSAPP_PARAM_MAX = 1024
WHATSAPP_TEXT_MAX = 4096
WHATSAPP_CARD_HEADER_MAX = 20
WHATSAPP_CARD_TEXT_MAX = 1024
WHATSAPP_FOOTER_MAX = 60
WHATSAPP_BUTTONS_MAX = 3
WHATSAPP_BUTTON_TEXT_MAX = 20
WHATSAPP_LIST_HEADER_MAX = 60
WHATSAPP_LIST_BUTTON_MAX = 20
WHATSAPP_LIST_OPTIONS_MAX = 10
WHATSAPP_LIST_SECTION_TITLE_MAX = 24
WHATSAPP_OPTION_TITLE_MAX = 24
WHATSAPP_OPTION_DESCRIPTION_MAX = 72
WHATSAPP_CAPTION_MAX = 1024
WHATSAPP_LOCATION_TEXT_MAX = 1000
WHATSAPP_FILE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "ogg", "amr", "3gp", "aac", "mpeg", "mp3", "pdf", "doc",
                            "docx", "pptx", "xlsx", "mp4")

EMAIL_SUBJECT_MAX = 200
EMAIL_SUBTITLE_MAX = 200
EMAIL_BLOCKS_MAX = 100
EMAIL_SIMPLE_BLOCK_TYPES = ("text", "image", "button", "divider", "spacer", "social")
EMAIL_CONTAINER_TYPES = ("columns", "wrapper")
EMAIL_BLOCK_TYPES = EMAIL_SIMPLE_BLOCK_TYPES + EMAIL_CONTAINER_TYPES
EMAIL_TEXT_MAX = 10_000
EMAIL_TEXT_STYLES = ("paragraph", "heading")
EMAIL_ALIGNS = ("left", "center", "right")
EMAIL_ALT_MAX = 200
EMAIL_BUTTON_TEXT_MAX = 100
EMAIL_IMAGE_WIDTH_MAX = 600
EMAIL_SPACER_MIN, EMAIL_SPACER_MAX, EMAIL_SPACER_DEFAULT = 4, 200, 24
EMAIL_BUTTON_COLOR = "#4f46e5"
HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
HEX_COLOR_ANY = re.compile(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$")
# social networks: (the name shown on the link, its badge colour); "website" shows the host
EMAIL_SOCIAL_NETWORKS = {
    "facebook": ("Facebook", "#1877f2"), "x": ("X", "#000000"), "instagram": ("Instagram", "#e1306c"),
    "linkedin": ("LinkedIn", "#0a66c2"), "youtube": ("YouTube", "#ff0000"), "tiktok": ("TikTok", "#000000"),
    "whatsapp": ("WhatsApp", "#25d366"), "telegram": ("Telegram", "#229ed9"), "website": ("Website", "#4b5563")}
EMAIL_SOCIAL_LINKS_MAX = 10
EMAIL_SOCIAL_LABEL_MAX = 50
EMAIL_COLUMNS = (2, 3)
EMAIL_WRAPPER_BACKGROUND = "#f4f5f7"
EMAIL_WRAPPER_PADDING_MAX, EMAIL_WRAPPER_PADDING_DEFAULT = 64, 16

PUSH_TITLE_MAX = 100
PUSH_TEXT_MAX = 1000
TTS_TEXT_MAX = 1000
TTS_LANGUAGES = ("en", "es")
TTS_REPETITIONS = (1, 3)
WECHAT_TEXT_MAX = 2048
TELEGRAM_TEXT_MAX = 4096

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{2,23}$")
DECIMAL = re.compile(r"^-?[0-9]{1,3}(\.[0-9]+)?$")
URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def limits() -> dict:
    """The limits the constructor shows (counters, maximum list sizes), per channel key."""
    return {
        "sms": {"max_segments": SMS_MAX_SEGMENTS},
        "rcs": {"text": RCS_TEXT_MAX, "title": RCS_TITLE_MAX, "card_text": RCS_CARD_TEXT_MAX,
                "suggestion_text": RCS_SUGGESTION_TEXT_MAX, "card_suggestions": RCS_CARD_SUGGESTIONS_MAX,
                "chips": RCS_CHIPS_MAX, "cards_min": RCS_CAROUSEL_MIN, "cards_max": RCS_CAROUSEL_MAX,
                "calendar_title": RCS_CALENDAR_TITLE_MAX, "calendar_description": RCS_CALENDAR_DESCRIPTION_MAX},
        "viber": {"text": VIBER_TEXT_MAX, "button_text": VIBER_BUTTON_TEXT_MAX,
                  "extensions": list(VIBER_FILE_EXTENSIONS), "file_bytes": VIBER_FILE_MAX_BYTES},
        "whatsapp": {"text": WHATSAPP_TEXT_MAX, "card_header": WHATSAPP_CARD_HEADER_MAX,
                     "card_text": WHATSAPP_CARD_TEXT_MAX, "footer": WHATSAPP_FOOTER_MAX,
                     "buttons": WHATSAPP_BUTTONS_MAX, "button_text": WHATSAPP_BUTTON_TEXT_MAX,
                     "list_header": WHATSAPP_LIST_HEADER_MAX, "list_button": WHATSAPP_LIST_BUTTON_MAX,
                     "options": WHATSAPP_LIST_OPTIONS_MAX, "section_title": WHATSAPP_LIST_SECTION_TITLE_MAX,
                     "option_title": WHATSAPP_OPTION_TITLE_MAX,
                     "option_description": WHATSAPP_OPTION_DESCRIPTION_MAX, "caption": WHATSAPP_CAPTION_MAX,
                     "location_text": WHATSAPP_CARD_TEXT_MAX, "params": WHATSAPP_PARAMS_MAX,
                     "extensions": list(WHATSAPP_FILE_EXTENSIONS)},
        "email": {"subject": EMAIL_SUBJECT_MAX, "subtitle": EMAIL_SUBTITLE_MAX, "blocks": EMAIL_BLOCKS_MAX,
                  "text": EMAIL_TEXT_MAX, "alt": EMAIL_ALT_MAX, "button_text": EMAIL_BUTTON_TEXT_MAX,
                  "spacer_min": EMAIL_SPACER_MIN, "spacer_max": EMAIL_SPACER_MAX,
                  "spacer_default": EMAIL_SPACER_DEFAULT, "image_width": EMAIL_IMAGE_WIDTH_MAX,
                  "button_color": EMAIL_BUTTON_COLOR, "social_links": EMAIL_SOCIAL_LINKS_MAX,
                  "social_label": EMAIL_SOCIAL_LABEL_MAX, "networks": list(EMAIL_SOCIAL_NETWORKS),
                  "columns": list(EMAIL_COLUMNS), "wrapper_background": EMAIL_WRAPPER_BACKGROUND,
                  "wrapper_padding_max": EMAIL_WRAPPER_PADDING_MAX,
                  "wrapper_padding": EMAIL_WRAPPER_PADDING_DEFAULT},
        "push": {"title": PUSH_TITLE_MAX, "text": PUSH_TEXT_MAX},
        "mobile_push": {"title": PUSH_TITLE_MAX, "text": PUSH_TEXT_MAX},
        "tts": {"text": TTS_TEXT_MAX, "repetitions": TTS_REPETITIONS[1]},
        "wechat": {"text": WECHAT_TEXT_MAX},
        "telegram": {"text": TELEGRAM_TEXT_MAX},
    }


CHANNEL_KEYS = {Channel.SMS: "sms", Channel.RCS: "rcs", Channel.VIBER: "viber", Channel.WHATSAPP: "whatsapp",
                Channel.WECHAT: "wechat", Channel.EMAIL: "email", Channel.TELEGRAM: "telegram",
                Channel.PUSH: "push", Channel.TTS: "tts", Channel.MOBILE_PUSH: "mobile_push"}


# --- the SMS counter -------------------------------------------------------------------------

def sms_counter(text: str) -> dict:
    """The SMS counter of spec P§5.1: ``{"encoding", "characters", "segments", "limit",
    "label": "7-bit extended (160) 103 characters / 1 SMS", "max_segments", "too_long"}``."""
    info = encoding.analyze(text or "")
    return {**info.as_dict(), "max_segments": SMS_MAX_SEGMENTS, "too_long": info.segments > SMS_MAX_SEGMENTS}


# --- validation ------------------------------------------------------------------------------

class _Checker:
    """Collects ``{key: message}``; the first message per key wins."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.errors: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(f"{self.prefix}{path}", str(message))

    def has(self, path: str) -> bool:
        return f"{self.prefix}{path}" in self.errors

    # -- scalar fields -------------------------------------------------------------------------
    def string(self, data: Mapping, key: str, path: str, *, required=False, max_length=None,
               required_message=None) -> str:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.add(path, required_message or _("This field is required."))
            return ""
        if not isinstance(value, str):
            self.add(path, _("Give text here, not %(kind)s.") % {"kind": _kind(value)})
            return ""
        if required and not value.strip():
            self.add(path, required_message or _("This field is required."))
            return ""
        if max_length is not None and len(value) > max_length:
            self.add(path, _("At most %(max)d characters; this has %(n)d.") % {"max": max_length, "n": len(value)})
        return value

    def url(self, data: Mapping, key: str, path: str, *, required=False) -> str:
        value = self.string(data, key, path, required=required,
                            required_message=_("Give a URL that starts with http:// or https://."))
        if value and not self.has(path):
            if len(value) > URL_MAX:
                self.add(path, _("A URL has at most %(max)d characters.") % {"max": URL_MAX})
            elif not URL.match(value.strip()):
                self.add(path, _("Give a URL that starts with http:// or https://."))
        return value

    def choice(self, data: Mapping, key: str, path: str, choices, default=None):
        value = data.get(key)
        if value is None or value == "":
            if default is None:
                self.add(path, _("Choose one of: %(choices)s.") % {"choices": ", ".join(map(str, choices))})
            return default
        if value not in choices:
            self.add(path, _("“%(value)s” is not one of: %(choices)s.") % {"value": value,
                                                                         "choices": ", ".join(map(str, choices))})
            return default
        return value

    def integer(self, data: Mapping, key: str, path: str, low: int, high: int, default=None):
        value = data.get(key)
        if value is None or value == "":
            if default is None:
                self.add(path, _("Give a whole number from %(low)d to %(high)d.") % {"low": low, "high": high})
            return default
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(path, _("Give a whole number from %(low)d to %(high)d.") % {"low": low, "high": high})
            return default
        return value

    def coordinate(self, data: Mapping, key: str, path: str, bound: int) -> None:
        value = data.get(key)
        if value is None or value == "":
            self.add(path, _("Give the %(what)s as a decimal number, e.g. 40.4168.") % {
                "what": _("latitude") if bound == 90 else _("longitude")})
            return
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = Decimal(str(value))
        elif isinstance(value, str) and DECIMAL.match(value.strip()):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                number = None
        if number is None:
            self.add(path, _("Decimal values only, e.g. 40.4168 (no degrees, minutes or letters)."))
        elif not -bound <= number <= bound:
            self.add(path, _("Give a value from -%(b)d to %(b)d.") % {"b": bound})

    # -- containers -----------------------------------------------------------------------------
    def mapping(self, data: Mapping, key: str, path: str, *, required=False) -> dict | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(path, _("This field is required."))
            return None
        if not isinstance(value, Mapping):
            self.add(path, _("Give an object here, not %(kind)s.") % {"kind": _kind(value)})
            return None
        return value

    def listing(self, data: Mapping, key: str, path: str, *, max_items=None, min_items=0,
                required_message=None) -> list:
        value = data.get(key)
        if value is None:
            value = []
        if not isinstance(value, list):
            self.add(path, _("Give a list here, not %(kind)s.") % {"kind": _kind(value)})
            return []
        if len(value) < min_items:
            self.add(path, required_message or _("Give at least %(n)d.") % {"n": min_items})
        elif max_items is not None and len(value) > max_items:
            self.add(path, _("At most %(max)d; there are %(n)d.") % {"max": max_items, "n": len(value)})
        return value

    def items(self, values: list, path: str):
        """The objects of a list, with their paths; a non-object item is an error."""
        for index, item in enumerate(values):
            item_path = f"{path}[{index}]"
            if not isinstance(item, Mapping):
                self.add(item_path, _("Give an object here, not %(kind)s.") % {"kind": _kind(item)})
                continue
            yield item, item_path


def _kind(value) -> str:
    if isinstance(value, bool):
        return _("true or false")
    if isinstance(value, (int, float)):
        return _("a number")
    if isinstance(value, str):
        return _("text")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, Mapping):
        return _("an object")
    return _("null") if value is None else type(value).__name__


def _extension(*names: str) -> str:
    for name in names:
        name = (name or "").split("?", 1)[0].split("#", 1)[0].rstrip("/")
        last = name.rsplit("/", 1)[-1]
        if "." in last:
            return last.rsplit(".", 1)[-1].lower()
    return ""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _text_only(c: _Checker, content: Mapping, max_length: int) -> None:
    c.string(content, "text", "text", required=True, max_length=max_length,
             required_message=_("This channel needs a text."))


# SMS ------------------------------------------------------------------------------------------

def _sms(c: _Checker, content: Mapping) -> None:
    text = c.string(content, "text", "text", required=True, required_message=_("This channel needs a text."))
    if text and not c.has("text"):
        info = encoding.analyze(text)
        if info.segments > SMS_MAX_SEGMENTS:
            c.add("text", _("This text makes %(n)d SMS; the maximum is %(max)d (%(label)s).") % {
                "n": info.segments, "max": SMS_MAX_SEGMENTS, "label": info.label})


# RCS ------------------------------------------------------------------------------------------

def _suggestion(c: _Checker, s: Mapping, path: str) -> None:
    c.string(s, "text", _join(path, "text"), required=True, max_length=RCS_SUGGESTION_TEXT_MAX)
    kind = c.choice(s, "kind", _join(path, "kind"), ("reply", "action"))
    if kind != "action":
        return
    action = c.choice(s, "action", _join(path, "action"), RCS_ACTIONS)
    if action == "url":
        c.url(s, "url", _join(path, "url"), required=True)
    elif action == "dial":
        c.choice(s, "dial_type", _join(path, "dial_type"), RCS_DIAL_TYPES, default="phone")
        phone = c.string(s, "phone", _join(path, "phone"), required=True,
                         required_message=_("Give the phone number to dial."))
        if phone and not c.has(_join(path, "phone")) and not PHONE.match(phone.strip()):
            c.add(_join(path, "phone"), _("Give a phone number: digits, an optional leading +, spaces or dashes."))
        c.url(s, "fallback_url", _join(path, "fallback_url"))
    elif action == "map":
        mode = c.choice(s, "mode", _join(path, "mode"), RCS_MAP_MODES, default="coordinates")
        if mode == "query":
            c.string(s, "query", _join(path, "query"), required=True, max_length=200,
                     required_message=_("Give what to search on the map."))
        else:
            c.coordinate(s, "latitude", _join(path, "latitude"), 90)
            c.coordinate(s, "longitude", _join(path, "longitude"), 180)
        c.string(s, "label", _join(path, "label"), max_length=100)
        c.url(s, "fallback_url", _join(path, "fallback_url"))
    elif action == "calendar":
        c.string(s, "title", _join(path, "title"), required=True, max_length=RCS_CALENDAR_TITLE_MAX,
                 required_message=_("A calendar event needs a title."))
        c.string(s, "description", _join(path, "description"), max_length=RCS_CALENDAR_DESCRIPTION_MAX)
        start = _when(c, s, "start", _join(path, "start"))
        end = _when(c, s, "end", _join(path, "end"))
        if start is not None and end is not None:
            if (start.tzinfo is None) != (end.tzinfo is None):
                c.add(_join(path, "end"), _("Give both times with a UTC offset, or both without."))
            elif end <= start:
                c.add(_join(path, "end"), _("The end must be after the start."))
        c.url(s, "fallback_url", _join(path, "fallback_url"))


def _when(c: _Checker, data: Mapping, key: str, path: str) -> datetime.datetime | None:
    value = c.string(data, key, path, required=True,
                     required_message=_("Give a date and time, e.g. 2025-05-01T10:00."))
    if not value or c.has(path):
        return None
    try:
        return datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        c.add(path, _("Give a date and time, e.g. 2025-05-01T10:00."))
        return None


def _suggestions(c: _Checker, data: Mapping, path: str, max_items: int) -> None:
    for item, item_path in c.items(c.listing(data, "suggestions", path, max_items=max_items), path):
        _suggestion(c, item, item_path)


def _card(c: _Checker, card: Mapping, path: str, in_carousel=False) -> None:
    title = c.string(card, "title", _join(path, "title"), max_length=RCS_TITLE_MAX)
    text = c.string(card, "text", _join(path, "text"), max_length=RCS_CARD_TEXT_MAX)
    image = c.mapping(card, "image", _join(path, "image"))
    image_url = c.url(image, "url", _join(path, "image.url")) if image is not None else ""
    if not (title.strip() or text.strip() or image_url.strip()) and not any(
            c.has(_join(path, k)) for k in ("title", "text", "image", "image.url")):
        c.add(_join(path, "title"), _("A card needs a title, a text or an image."))
    if not in_carousel:
        c.choice(card, "layout", _join(path, "layout"), RCS_LAYOUTS, default="vertical")
    c.choice(card, "height", _join(path, "height"), RCS_HEIGHTS, default="medium")
    _suggestions(c, card, _join(path, "suggestions"), RCS_CARD_SUGGESTIONS_MAX)


def _file(c: _Checker, content: Mapping, key: str, extensions=None, max_bytes=None) -> None:
    file = c.mapping(content, key, key, required=True)
    if file is None:
        return
    url = c.url(file, "url", f"{key}.url", required=True)
    name = c.string(file, "name", f"{key}.name", max_length=255)
    if extensions and url and not c.has(f"{key}.url"):
        ext = _extension(name, url)
        if ext not in extensions:
            c.add(f"{key}.url", _("This file type is not accepted; use one of: %(list)s.") % {
                "list": ", ".join(f".{e}" for e in extensions)})
    size = file.get("size")
    if max_bytes and size not in (None, ""):
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            c.add(f"{key}.size", _("Give the size in bytes."))
        elif size > max_bytes:
            c.add(f"{key}.size", _("The file is larger than %(mb)d MB.") % {"mb": max_bytes // (1024 * 1024)})


def _rcs(c: _Checker, content: Mapping) -> None:
    kind = c.choice(content, "type", "type", RCS_TYPES, default="text")
    if kind == "text":
        c.string(content, "text", "text", required=True, max_length=RCS_TEXT_MAX,
                 required_message=_("This channel needs a text."))
    elif kind == "file":
        _file(c, content, "file")
    elif kind == "card":
        card = c.mapping(content, "card", "card", required=True)
        if card is not None:
            _card(c, card, "card")
    elif kind == "carousel":
        cards = c.listing(content, "cards", "cards", min_items=RCS_CAROUSEL_MIN, max_items=RCS_CAROUSEL_MAX,
                          required_message=_("A carousel has %(min)d to %(max)d cards.") % {
                              "min": RCS_CAROUSEL_MIN, "max": RCS_CAROUSEL_MAX})
        for card, path in c.items(cards, "cards"):
            _card(c, card, path, in_carousel=True)
    _suggestions(c, content, "suggestions", RCS_CHIPS_MAX)


# Viber ----------------------------------------------------------------------------------------

def _viber(c: _Checker, content: Mapping) -> None:
    kind = c.choice(content, "type", "type", VIBER_TYPES, default="text")
    if kind == "file":
        _file(c, content, "file", VIBER_FILE_EXTENSIONS, VIBER_FILE_MAX_BYTES)
        return
    _text_only(c, content, VIBER_TEXT_MAX)
    if kind in ("text_button", "text_media_button"):
        button = c.mapping(content, "button", "button", required=True)
        if button is not None:
            c.string(button, "text", "button.text", required=True, max_length=VIBER_BUTTON_TEXT_MAX)
            c.url(button, "url", "button.url", required=True)
    if kind == "text_media_button":
        image = c.mapping(content, "image", "image", required=True)
        if image is not None:
            c.url(image, "url", "image.url", required=True)


# WhatsApp -------------------------------------------------------------------------------------

def _whatsapp_template(c: _Checker, content: Mapping) -> None:
    template = c.mapping(content, "template", "template", required=True)
    if template is None:
        return
    name = c.string(template, "name", "template.name", required=True, max_length=WHATSAPP_TEMPLATE_NAME_MAX,
                    required_message=_("Give the WhatsApp template's name."))
    if name and not c.has("template.name") and not WHATSAPP_TEMPLATE_NAME.match(name):
        c.add("template.name", _("A template name has only lower-case letters, digits and underscores."))
    language = template.get("language")
    code = language.get("code") if isinstance(language, Mapping) else language
    if code in (None, ""):
        c.add("template.language", _("Give the template's language code, e.g. en or en_US."))
    elif not isinstance(code, str) or not WHATSAPP_LANGUAGE.match(code):
        c.add("template.language", _("Give a language code such as en or en_US."))
    params = c.listing(template, "params", "template.params", max_items=WHATSAPP_PARAMS_MAX)
    for index, value in enumerate(params):
        path = f"template.params[{index}]"
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            c.add(path, _("Give text here, not %(kind)s.") % {"kind": _kind(value)})
        elif isinstance(value, str) and not value.strip():
            c.add(path, _("Fill in parameter {{%(n)d}}.") % {"n": index + 1})
        elif len(str(value)) > WHATSAPP_PARAM_MAX:
            c.add(path, _("At most %(max)d characters; this has %(n)d.") % {"max": WHATSAPP_PARAM_MAX,
                                                                             "n": len(str(value))})
    c.string(template, "namespace", "template.namespace", max_length=200)
    for _item, _path in c.items(c.listing(template, "components", "template.components"), "template.components"):
        pass


def _whatsapp(c: _Checker, content: Mapping) -> None:
    default = "template" if "template" in content else "text"
    kind = c.choice(content, "type", "type", WHATSAPP_TYPES, default=default)
    if kind == "template":
        _whatsapp_template(c, content)
    elif kind == "text":
        _text_only(c, content, WHATSAPP_TEXT_MAX)
        if not isinstance(content.get("preview_url", False), bool):
            c.add("preview_url", _("Give true or false."))
    elif kind == "card":
        c.string(content, "header", "header", max_length=WHATSAPP_CARD_HEADER_MAX)
        c.string(content, "text", "text", required=True, max_length=WHATSAPP_CARD_TEXT_MAX,
                 required_message=_("A card needs a message text."))
        c.string(content, "footer", "footer", max_length=WHATSAPP_FOOTER_MAX)
        media = c.mapping(content, "media", "media")
        if media is not None:
            c.url(media, "url", "media.url", required=True)
            c.string(media, "name", "media.name", max_length=255)
        buttons = c.listing(content, "buttons", "buttons", max_items=WHATSAPP_BUTTONS_MAX)
        seen = set()
        for button, path in c.items(buttons, "buttons"):
            text = c.string(button, "text", f"{path}.text", required=True, max_length=WHATSAPP_BUTTON_TEXT_MAX)
            if text and text.strip().casefold() in seen:
                c.add(f"{path}.text", _("Two buttons have the same text."))
            seen.add(text.strip().casefold())
    elif kind == "list":
        c.string(content, "header", "header", max_length=WHATSAPP_LIST_HEADER_MAX)
        c.string(content, "text", "text", required=True, max_length=WHATSAPP_TEXT_MAX,
                 required_message=_("A list message needs a message text."))
        c.string(content, "footer", "footer", max_length=WHATSAPP_FOOTER_MAX)
        c.string(content, "button", "button", required=True, max_length=WHATSAPP_LIST_BUTTON_MAX,
                 required_message=_("Give the header of the list (the button that opens it)."))
        sections = c.listing(content, "sections", "sections", min_items=1, max_items=WHATSAPP_LIST_OPTIONS_MAX,
                             required_message=_("A list needs at least one option."))
        total = 0
        for section, path in c.items(sections, "sections"):
            c.string(section, "title", f"{path}.title", required=len(sections) > 1,
                     max_length=WHATSAPP_LIST_SECTION_TITLE_MAX,
                     required_message=_("With several sections, each needs a title."))
            options = c.listing(section, "options", f"{path}.options", min_items=1,
                                required_message=_("A section needs at least one option."))
            for option, option_path in c.items(options, f"{path}.options"):
                total += 1
                c.string(option, "title", f"{option_path}.title", required=True,
                         max_length=WHATSAPP_OPTION_TITLE_MAX)
                c.string(option, "description", f"{option_path}.description",
                         max_length=WHATSAPP_OPTION_DESCRIPTION_MAX)
        if total > WHATSAPP_LIST_OPTIONS_MAX:
            c.add("sections", _("A list has at most %(max)d options; there are %(n)d.") % {
                "max": WHATSAPP_LIST_OPTIONS_MAX, "n": total})
    elif kind == "file":
        _file(c, content, "file", WHATSAPP_FILE_EXTENSIONS)
        c.string(content, "caption", "caption", max_length=WHATSAPP_CAPTION_MAX)
    elif kind == "location_request":
        c.string(content, "text", "text", required=True, max_length=WHATSAPP_CARD_TEXT_MAX,
                 required_message=_("Give the text that asks for the location."))
    elif kind == "location":
        c.coordinate(content, "latitude", "latitude", 90)
        c.coordinate(content, "longitude", "longitude", 180)
        c.string(content, "name", "name", max_length=WHATSAPP_LOCATION_TEXT_MAX)
        c.string(content, "address", "address", max_length=WHATSAPP_LOCATION_TEXT_MAX)


# Email ----------------------------------------------------------------------------------------

def _email(c: _Checker, content: Mapping) -> None:
    c.string(content, "subject", "subject", required=True, max_length=EMAIL_SUBJECT_MAX,
             required_message=_("An e-mail needs a subject."))
    c.string(content, "subtitle", "subtitle", max_length=EMAIL_SUBTITLE_MAX)
    blocks = c.listing(content, "blocks", "blocks", max_items=EMAIL_BLOCKS_MAX)
    total = 0
    for block, path in c.items(blocks, "blocks"):
        total += _email_block(c, block, path)
    if total > EMAIL_BLOCKS_MAX and not c.has("blocks"):
        c.add("blocks", _("At most %(max)d blocks in all, counting those inside columns and wrappers; "
                          "there are %(n)d.") % {"max": EMAIL_BLOCKS_MAX, "n": total})
    has_body = bool(blocks) or any(isinstance(content.get(k), str) and content[k].strip() for k in ("html", "text"))
    if not has_body and not c.has("blocks"):
        c.add("blocks" if "blocks" in content else "html",
              _("An e-mail needs an HTML or a text body.") if "blocks" not in content
              else _("Add at least one block to the e-mail body."))


def _email_block(c: _Checker, block: Mapping, path: str, nested: bool = False) -> int:
    """Check one block (at ``path``); the number of blocks it counts for (itself and, for
    columns and wrappers, the blocks inside). Inside columns or a wrapper (``nested``) only
    the simple blocks may go."""
    if nested and block.get("type") in EMAIL_CONTAINER_TYPES:
        c.add(f"{path}.type", _("Columns and wrappers cannot go inside columns or a wrapper."))
        return 1
    kind = c.choice(block, "type", f"{path}.type", EMAIL_SIMPLE_BLOCK_TYPES if nested else EMAIL_BLOCK_TYPES)
    if kind == "text":
        c.string(block, "text", f"{path}.text", required=True, max_length=EMAIL_TEXT_MAX,
                 required_message=_("Write the text of this block, or delete the block."))
        c.choice(block, "style", f"{path}.style", EMAIL_TEXT_STYLES, default="paragraph")
        c.choice(block, "align", f"{path}.align", EMAIL_ALIGNS, default="left")
    elif kind == "image":
        c.url(block, "url", f"{path}.url", required=True)
        c.string(block, "alt", f"{path}.alt", max_length=EMAIL_ALT_MAX)
        c.url(block, "link", f"{path}.link")
        if block.get("width") not in (None, ""):
            c.integer(block, "width", f"{path}.width", 1, EMAIL_IMAGE_WIDTH_MAX)
    elif kind == "button":
        c.string(block, "text", f"{path}.text", required=True, max_length=EMAIL_BUTTON_TEXT_MAX)
        c.url(block, "url", f"{path}.url", required=True)
        color = block.get("color")
        if color not in (None, "") and (not isinstance(color, str) or not HEX_COLOR.match(color)):
            c.add(f"{path}.color", _("Give a colour as #RRGGBB, e.g. #4f46e5."))
        c.choice(block, "align", f"{path}.align", EMAIL_ALIGNS, default="center")
    elif kind == "spacer":
        c.integer(block, "height", f"{path}.height", EMAIL_SPACER_MIN, EMAIL_SPACER_MAX,
                  default=EMAIL_SPACER_DEFAULT)
    elif kind == "social":
        c.choice(block, "align", f"{path}.align", EMAIL_ALIGNS, default="center")
        links = c.listing(block, "links", f"{path}.links", min_items=1, max_items=EMAIL_SOCIAL_LINKS_MAX,
                          required_message=_("Add at least one link, or delete the block."))
        for link, link_path in c.items(links, f"{path}.links"):
            c.choice(link, "network", f"{link_path}.network", tuple(EMAIL_SOCIAL_NETWORKS))
            c.url(link, "url", f"{link_path}.url", required=True)
            c.string(link, "label", f"{link_path}.label", max_length=EMAIL_SOCIAL_LABEL_MAX)
    elif kind == "columns":
        columns = block.get("columns")
        if not isinstance(columns, list) or len(columns) not in EMAIL_COLUMNS:
            c.add(f"{path}.columns", _("Give 2 or 3 columns, each a list of blocks."))
            return 1
        count = 1
        for index, column in enumerate(columns):
            column_path = f"{path}.columns[{index}]"
            if not isinstance(column, list):
                c.add(column_path, _("Give a list here, not %(kind)s.") % {"kind": _kind(column)})
                continue
            for child, child_path in c.items(column, column_path):
                count += _email_block(c, child, child_path, nested=True)
        if count == 1:
            c.add(f"{path}.columns", _("Put at least one block in the columns, or delete them."))
        return count
    elif kind == "wrapper":
        background = block.get("background")
        if background not in (None, "") and (not isinstance(background, str) or not HEX_COLOR_ANY.match(background)):
            c.add(f"{path}.background", _("Give a colour as #RGB or #RRGGBB, e.g. #f4f5f7."))
        c.integer(block, "padding", f"{path}.padding", 0, EMAIL_WRAPPER_PADDING_MAX,
                  default=EMAIL_WRAPPER_PADDING_DEFAULT)
        children = c.listing(block, "blocks", f"{path}.blocks", min_items=1,
                             required_message=_("Put at least one block in the wrapper, or delete it."))
        count = 1
        for child, child_path in c.items(children, f"{path}.blocks"):
            count += _email_block(c, child, child_path, nested=True)
        return count
    return 1


# Push, TTS, Mobile Push --------------------------------------------------------------------------

def _push(c: _Checker, content: Mapping) -> None:
    title = c.string(content, "title", "title", max_length=PUSH_TITLE_MAX)
    text = c.string(content, "text", "text", max_length=PUSH_TEXT_MAX)
    image = c.mapping(content, "image", "image")
    image_url = c.url(image, "url", "image.url") if image is not None else ""
    if not (title.strip() or text.strip() or image_url.strip()) and not c.errors:
        c.add("text", _("A push needs at least one of a picture, a header or a text."))


def _mobile_push(c: _Checker, content: Mapping) -> None:
    c.string(content, "title", "title", required=True, max_length=PUSH_TITLE_MAX,
             required_message=_("A mobile push needs a header."))
    c.string(content, "text", "text", required=True, max_length=PUSH_TEXT_MAX,
             required_message=_("A mobile push needs a text."))


def _tts(c: _Checker, content: Mapping) -> None:
    _text_only(c, content, TTS_TEXT_MAX)
    c.choice(content, "language", "language", TTS_LANGUAGES, default="en")
    c.integer(content, "repetitions", "repetitions", TTS_REPETITIONS[0], TTS_REPETITIONS[1], default=1)


_VALIDATORS = {
    Channel.SMS: _sms,
    Channel.RCS: _rcs,
    Channel.VIBER: _viber,
    Channel.WHATSAPP: _whatsapp,
    Channel.WECHAT: lambda c, content: _text_only(c, content, WECHAT_TEXT_MAX),
    Channel.EMAIL: _email,
    Channel.TELEGRAM: lambda c, content: _text_only(c, content, TELEGRAM_TEXT_MAX),
    Channel.PUSH: _push,
    Channel.TTS: _tts,
    Channel.MOBILE_PUSH: _mobile_push,
}


def validate_content(channel: int, content, prefix: str = "") -> dict[str, str]:
    """The errors of one channel payload: ``{f"{prefix}<path>": message}`` (paths such as
    ``text``, ``card.suggestions[2].url``, ``blocks[0].text``); empty when it is valid. A
    payload that is not an object is one error under ``prefix`` without its final dot
    (``"content"`` when there is no prefix)."""
    top = prefix.rstrip(".") or "content"
    if not isinstance(content, Mapping):
        return {top: _("The content must be a JSON object, e.g. {\"text\": \"Hello\"}.")}
    try:
        validator = _VALIDATORS[Channel(channel)]
    except (ValueError, KeyError):
        return {top: _("Unknown channel %(c)s.") % {"c": channel}}
    checker = _Checker(prefix)
    validator(checker, content)
    return checker.errors


# --- preparing a payload for sending ---------------------------------------------------------

def prepare_content(channel: int, content: Mapping) -> dict:
    """A copy of a *valid* payload with what a send needs: for an e-mail with ``blocks``,
    its ``html`` and ``text`` made from them (whatever HTML came with it is replaced)."""
    data = copy.deepcopy(dict(content))
    if channel == Channel.EMAIL and isinstance(data.get("blocks"), list) and data["blocks"]:
        data["html"] = render_email_html(data["blocks"], subtitle=str(data.get("subtitle") or ""))
        data["text"] = render_email_text(data["blocks"])
    return data


# --- e-mail HTML from blocks ----------------------------------------------------------------------
# static/js/constructor.js renders the same HTML for the live preview (``emailHtml``): keep the
# two in step (the browser tests compare them).

FONT = "font-family:Arial,Helvetica,sans-serif;"
BUTTON_MARGINS = {"left": "0", "center": "0 auto", "right": "0 0 0 auto"}
EMAIL_WIDTH = 600
# the width a column's images are made for: 600 px less the 2 x 32 px of the body's padding
# and the 16 px gaps between columns, shared out
COLUMN_IMAGE_WIDTHS = {1: 536, 2: 260, 3: 168}
COLUMN_WIDTHS = {1: "100%", 2: "50%", 3: "33.33%"}
# narrow screens (the smartphone preview, a phone): columns stack, the body's sides shrink
EMAIL_HEAD_STYLE = ("<style>@media only screen and (max-width:480px){"
                    ".h-row{padding:8px 16px !important;}"
                    ".h-col{display:block !important;width:100% !important;padding:0 !important;}}</style>")
TABLE = 'role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"'


def _safe_url(value) -> str:
    value = str(value or "").strip()
    return value if URL.match(value) else ""


def _align(value, default="left") -> str:
    return value if value in EMAIL_ALIGNS else default


def _long_hex(value, default: str) -> str:
    """A valid #rgb or #rrggbb colour as #rrggbb (old mail programs know only the long form)."""
    if not isinstance(value, str) or not HEX_COLOR_ANY.match(value):
        return default
    return "#" + "".join(ch * 2 for ch in value[1:]) if len(value) == 4 else value


def _whole(value, default: int, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        value = default
    return min(max(value, low), high)


def _paragraphs(text: str) -> list[str]:
    text = str(text or "").replace("\r\n", "\n").replace("\r", "\n")
    return [p for p in (part.strip("\n") for part in re.split(r"\n[ \t]*\n", text)) if p.strip()]


def _social_links(block) -> list[tuple[str, str, str]]:
    """The links of a social block that can be shown: ``(label, url, colour)``. The label is
    the one given, else the network's name (the site's host for *website*)."""
    links = []
    for link in block.get("links") if isinstance(block.get("links"), list) else []:
        if not isinstance(link, Mapping) or link.get("network") not in EMAIL_SOCIAL_NETWORKS:
            continue
        url = _safe_url(link.get("url"))
        if not url:
            continue
        name, color = EMAIL_SOCIAL_NETWORKS[link["network"]]
        label = str(link.get("label") or "").strip()
        if not label:
            label = re.split(r"[/?#]", re.sub(r"^https?://", "", url, flags=re.IGNORECASE), maxsplit=1)[0] \
                if link["network"] == "website" else name
        links.append((label, url, color))
    return links


def _inner_rows(blocks, width: int) -> str:
    """Blocks inside columns or a wrapper: one table row each."""
    cells = [_block_html(b, width) for b in (blocks if isinstance(blocks, list) else []) if isinstance(b, Mapping)
             and b.get("type") not in EMAIL_CONTAINER_TYPES]
    return "".join(f'<tr><td style="padding:6px 0;">{html}</td></tr>' for html in cells if html)


def _block_html(block, width: int = EMAIL_WIDTH) -> str:
    """One block's HTML; ``width``: the most an image may take where the block stands."""
    kind = block.get("type")
    if kind == "text":
        align = _align(block.get("align"))
        if block.get("style") == "heading":
            style = f"margin:0 0 12px;{FONT}font-size:24px;line-height:1.3;font-weight:bold;color:#1c2333;" \
                    f"text-align:{align};"
            text = str(block.get("text") or "").replace("\r\n", "\n").replace("\r", "\n").strip()
            body = "<br>".join(escape(line) for line in text.split("\n"))
            return f'<h1 style="{style}">{body}</h1>'
        style = f"margin:0 0 12px;{FONT}font-size:16px;line-height:1.5;color:#1c2333;text-align:{align};"
        return "".join(f'<p style="{style}">' + "<br>".join(escape(line) for line in p.split("\n")) + "</p>"
                       for p in _paragraphs(block.get("text")))
    if kind == "image":
        url = _safe_url(block.get("url"))
        if not url:
            return ""
        given = block.get("width")
        given = given if isinstance(given, int) and not isinstance(given, bool) and 0 < given <= 600 else width
        img = (f'<img src="{escape(url)}" alt="{escape(str(block.get("alt") or ""))}" width="{min(given, width)}" '
               f'style="display:block;max-width:100%;height:auto;border:0;margin:0 auto;">')
        link = _safe_url(block.get("link"))
        return f'<a href="{escape(link)}" target="_blank">{img}</a>' if link else img
    if kind == "button":
        url = _safe_url(block.get("url"))
        color = block.get("color") if isinstance(block.get("color"), str) and HEX_COLOR.match(block["color"]) \
            else EMAIL_BUTTON_COLOR
        align = _align(block.get("align"), "center")
        return (f'<table role="presentation" cellpadding="0" cellspacing="0" border="0" align="{align}" '
                f'style="margin:{BUTTON_MARGINS[align]};">'
                f'<tr><td style="border-radius:6px;background:{color};">'
                f'<a href="{escape(url)}" target="_blank" style="display:inline-block;padding:12px 24px;{FONT}'
                f'font-size:16px;font-weight:bold;color:#ffffff;text-decoration:none;border-radius:6px;">'
                f'{escape(str(block.get("text") or ""))}</a></td></tr></table>')
    if kind == "divider":
        return '<hr style="border:0;border-top:1px solid #dfe3ec;margin:8px 0;">'
    if kind == "spacer":
        height = _whole(block.get("height"), EMAIL_SPACER_DEFAULT, EMAIL_SPACER_MIN, EMAIL_SPACER_MAX)
        return f'<div style="height:{height}px;line-height:{height}px;font-size:1px;">&nbsp;</div>'
    if kind == "social":
        links = _social_links(block)
        if not links:
            return ""
        return (f'<div style="text-align:{_align(block.get("align"), "center")};">' + "".join(
            f'<a href="{escape(url)}" target="_blank" style="display:inline-block;margin:3px;padding:6px 14px;'
            f'border-radius:16px;background:{color};{FONT}font-size:13px;font-weight:bold;line-height:18px;'
            f'color:#ffffff;text-decoration:none;">{escape(label)}</a>' for label, url, color in links) + "</div>")
    if kind == "columns":
        columns = [c if isinstance(c, list) else [] for c in block.get("columns")[:3]] \
            if isinstance(block.get("columns"), list) else []
        n = len(columns)
        cells = [_inner_rows(column, COLUMN_IMAGE_WIDTHS.get(n, width)) for column in columns]
        if not any(cells):
            return ""
        tds = []
        for index, rows in enumerate(cells):
            padding = f"padding:0 {'0' if index == n - 1 else '8px'} 0 {'0' if index == 0 else '8px'};"
            inner = f"<table {TABLE}>{rows}</table>" if rows else "&nbsp;"
            tds.append(f'<td class="h-col" width="{COLUMN_WIDTHS[n]}" valign="top" '
                       f'style="width:{COLUMN_WIDTHS[n]};vertical-align:top;{padding}">{inner}</td>')
        return f'<table {TABLE} style="width:100%;"><tr>{"".join(tds)}</tr></table>'
    if kind == "wrapper":
        rows = _inner_rows(block.get("blocks"), width)
        if not rows:
            return ""
        background = _long_hex(block.get("background"), EMAIL_WRAPPER_BACKGROUND)
        padding = _whole(block.get("padding"), EMAIL_WRAPPER_PADDING_DEFAULT, 0, EMAIL_WRAPPER_PADDING_MAX)
        return (f'<table {TABLE} bgcolor="{background}" style="width:100%;background:{background};'
                f'border-radius:6px;"><tr><td style="padding:{padding}px;"><table {TABLE}>{rows}</table>'
                "</td></tr></table>")
    return ""


def render_email_html(blocks, subtitle: str = "") -> str:
    """The e-mail's HTML from its blocks: a 600 px wide, table-based layout that mail
    clients render alike (columns stack on screens narrower than 480 px); every text
    escaped; URLs other than http(s) dropped; the subtitle as the hidden preview line inbox
    lists show."""
    rows = []
    for block in blocks or []:
        if isinstance(block, Mapping):
            html = _block_html(block)
            if html:
                rows.append(f'<tr><td class="h-row" style="padding:8px 32px;">{html}</td></tr>')
    preheader = (f'<div style="display:none;max-height:0;overflow:hidden;opacity:0;">{escape(subtitle)}</div>'
                 if subtitle.strip() else "")
    return ('<!DOCTYPE html><html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">' + EMAIL_HEAD_STYLE + '</head>'
            f'<body style="margin:0;padding:0;background:#f4f5f7;">{preheader}'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            'style="background:#f4f5f7;"><tr><td align="center" style="padding:24px 12px;">'
            '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" '
            'style="width:100%;max-width:600px;background:#ffffff;border-radius:8px;">'
            '<tr><td style="height:24px;line-height:24px;font-size:1px;">&nbsp;</td></tr>'
            + "".join(rows) +
            '<tr><td style="height:24px;line-height:24px;font-size:1px;">&nbsp;</td></tr>'
            '</table></td></tr></table></body></html>')


def _text_parts(blocks, nested: bool = False) -> list[str]:
    parts = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Mapping) or (nested and block.get("type") in EMAIL_CONTAINER_TYPES):
            continue
        kind = block.get("type")
        if kind == "text":
            text = "\n\n".join(_paragraphs(block.get("text")))
            if text:
                parts.append(text)
        elif kind == "image" and str(block.get("alt") or "").strip():
            parts.append(f"[{str(block['alt']).strip()}]")
        elif kind == "button" and _safe_url(block.get("url")):
            parts.append(f"{str(block.get('text') or '').strip()}: {_safe_url(block.get('url'))}")
        elif kind == "divider":
            parts.append("-" * 40)
        elif kind == "social":
            links = _social_links(block)
            if links:
                parts.append("\n".join(f"{label}: {url}" for label, url, _color in links))
        elif kind == "columns" and isinstance(block.get("columns"), list):
            for column in block["columns"][:3]:
                parts += _text_parts(column, nested=True)
        elif kind == "wrapper":
            parts += _text_parts(block.get("blocks"), nested=True)
    return parts


def render_email_text(blocks) -> str:
    """The plain-text part of the e-mail from its blocks: the texts, image descriptions,
    "label: URL" of buttons and social links, a line of dashes for a divider; what stands
    in columns one column after the other."""
    return "\n\n".join(_text_parts(blocks))

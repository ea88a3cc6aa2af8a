"""Personalisation (spec §0.4, gap G18): one renderer for every dialect of placeholders.

* ``{{attribute.<key>}}`` — a contact attribute (canonical; case-insensitive key,
  ``attribute.phoneNumber`` is the contact's number);
* ``{{<key>}}`` — the same without the prefix (conversation templates);
* ``{{1}}``, ``{{2}}`` — WhatsApp template parameters; ``{{code}}`` — OTP codes;
  ``{{variable}}`` — chatbot variables: all looked up in the explicit ``params`` first.

``params`` given with a send (``template.params`` of the Omni API) win over the contact's
own values. A placeholder with no value renders empty and is reported in ``missing`` —
never an error: a marketer's typo must not stop a broadcast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*\}\}")
ATTRIBUTE_PREFIX = "attribute."


def contact_values(contact) -> dict[str, str]:
    """The lower-cased lookup table of a contact: every attribute under its key and under
    ``attribute.<key>``, plus the phone number."""
    values: dict[str, str] = {}
    if contact is None:
        return values
    for key, value in (contact.attributes or {}).items():
        text = "" if value is None else (("yes" if value else "no") if isinstance(value, bool) else str(value))
        values[key.lower()] = text
        values[ATTRIBUTE_PREFIX + key.lower()] = text
    for key in ("phone", "phonenumber", "phone_number"):
        values.setdefault(key, contact.phone)
        values.setdefault(ATTRIBUTE_PREFIX + key, contact.phone)
    return values


def build_values(contact=None, params: Mapping | None = None) -> dict[str, str]:
    values = contact_values(contact)
    explicit = {str(key).lower(): "" if value is None else str(value) for key, value in (params or {}).items()}
    for key, text in explicit.items():
        values[key] = text
        # the other spelling of the same key: a param beats the contact's own value, but
        # not a param given under that spelling too
        alias = key[len(ATTRIBUTE_PREFIX):] if key.startswith(ATTRIBUTE_PREFIX) else ATTRIBUTE_PREFIX + key
        if alias not in explicit:
            values[alias] = text
    return values


def render_text(text: str, values: Mapping[str, str], missing: list[str] | None = None) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        value = values.get(name.lower())
        if value is None:
            if missing is not None and name not in missing:
                missing.append(name)
            return ""
        return value

    return PLACEHOLDER.sub(substitute, text)


def render_content(content, values: Mapping[str, str], missing: list[str] | None = None):
    """Render every string of a channel payload (nested dicts and lists included)."""
    if isinstance(content, str):
        return render_text(content, values, missing)
    if isinstance(content, Mapping):
        # An e-mail's HTML gets HTML-escaped values: a contact's "<a href=…>" stays text.
        return {key: (render_text(value, _escaped(values), missing) if key == "html" and isinstance(value, str)
                      else render_content(value, values, missing))
                for key, value in content.items()}
    if isinstance(content, list):
        return [render_content(value, values, missing) for value in content]
    return content


def _escaped(values: Mapping[str, str]) -> dict[str, str]:
    return {key: escape(value) for key, value in values.items()}


def placeholders(content) -> list[str]:
    """The placeholder names a payload uses (for the UI's checks)."""
    found: list[str] = []
    if isinstance(content, str):
        found.extend(m.group(1) for m in PLACEHOLDER.finditer(content))
    elif isinstance(content, Mapping):
        for value in content.values():
            found.extend(placeholders(value))
    elif isinstance(content, list):
        for value in content:
            found.extend(placeholders(value))
    return list(dict.fromkeys(found))

"""The message constructor as a template tag (spec P§5)::

    {% load constructor %}
    {% constructor_assets %}                       {# once per page: the CSS and the JS #}
    {% constructor channel "content" value errors=content_errors template_tools=True %}

renders ``templates/constructor/editor.html``: the channel's fields with their limits and
live counters, the preview, the personalisation picker, media pick/upload, and (with
``template_tools``) *Load template* / *Save as template*. A hidden
``<input name="content">`` holds the content JSON, kept in step as the user types.
``value`` is the payload (a dict or its JSON text); ``errors`` the ``validate_content``
errors keyed by path inside the content (shown next to their fields).

An editor inserted later by htmx (the chain builder's *Add step*, from
``content_templates:constructor``) starts by itself: Alpine initialises new ``x-data``
elements; the page must have called ``{% constructor_assets %}``.
"""

from __future__ import annotations

import json

from django import template
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from messaging.content import CHANNEL_KEYS, limits
from portal.channel_types import Channel

register = template.Library()

MEDIA_PERMISSIONS = ("manage_media", "manage_broadcasts", "manage_content_templates")
LOAD_PERMISSIONS = ("manage_content_templates", "manage_broadcasts", "manage_chatbots")
SAVE_PERMISSIONS = ("manage_content_templates",)


def _url(name: str, query: str = "") -> str | None:
    try:
        return reverse(name) + query
    except NoReverseMatch:  # e.g. the media pages are not installed
        return None


def _attributes(request, company) -> list[dict]:
    """The personalisation picker's entries: the phone number, then the company's contact
    attributes (read once per request, however many editors the page has)."""
    cached = getattr(request, "_constructor_attributes", None) if request is not None else None
    if cached is not None:
        return cached
    entries = [{"key": "phoneNumber", "name": str(_("Phone number"))}]
    if company is not None:
        from contacts.selectors import attributes_for

        entries += [{"key": key, "name": name} for key, name in attributes_for(company).values_list("key", "name")]
    if request is not None:
        request._constructor_attributes = entries
    return entries


def _allowed(user, codes) -> bool:
    return bool(user and user.is_authenticated and any(user.has_permission(c) for c in codes))


def _payload(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            value = {}
    return value if isinstance(value, dict) else {}


def editor_context(request, channel, name: str, value=None, errors=None, template_tools: bool = True) -> dict:
    """What ``constructor/editor.html`` needs (also used by the fragment view)."""
    channel = Channel(int(channel))
    key = CHANNEL_KEYS[channel]
    user = getattr(request, "user", None)
    company = getattr(user, "company", None) if user is not None and user.is_authenticated else None
    content = _payload(value)
    can_media = _allowed(user, MEDIA_PERMISSIONS)
    config = {
        "channel": int(channel),
        "key": key,
        "content": content,
        "errors": {str(k): str(v) for k, v in (errors or {}).items()},
        "attributes": _attributes(request, company),
        "limits": limits()[key],
        "urls": {
            "picker": _url("media:picker") if can_media else None,
            "upload": _url("media:upload") if can_media else None,
            "templates": (_url("content_templates:for_channel", f"?channel={int(channel)}")
                          if template_tools and _allowed(user, LOAD_PERMISSIONS) else None),
            "save": (_url("content_templates:save_from_constructor")
                     if template_tools and _allowed(user, SAVE_PERMISSIONS) else None),
        },
        "i18n": {
            "uploadFailed": _("The upload failed."),
            "loadFailed": _("The templates could not be loaded."),
            "saved": _("Saved as template “%(name)s”."),
            "saveFailed": _("The template was not saved: see the messages next to the fields."),
            "nameRequired": _("Give the template a name."),
            "replaceContent": _("Replace the content of this step with the template?"),
            "noMedia": _("No files yet: upload one."),
            "repetitions": [_("Once"), _("Twice"), _("Three times")],
            "blocks": {"text": _("Text"), "image": _("Image"), "button": _("Button"), "divider": _("Divider"),
                       "spacer": _("Spacer")},
        },
    }
    part = "text" if key in ("wechat", "telegram") else key
    return {
        "channel": int(channel),
        "channel_key": key,
        "fields_template": f"constructor/fields/{part}.html",
        "preview_template": f"constructor/preview/{part}.html",
        "channel_label": channel.label,
        "name": name,
        "value_json": json.dumps(content, ensure_ascii=False),
        "config": config,
        "template_tools": template_tools,
    }


@register.simple_tag(takes_context=True)
def constructor(context, channel, name, value=None, errors=None, template_tools=True):
    """The constructor of ``channel`` for the form field ``name`` (see the module docstring)."""
    request = context.get("request")
    return render_to_string("constructor/editor.html",
                            editor_context(request, channel, name, value, errors, template_tools), request=request)


@register.simple_tag
def constructor_assets():
    """The constructor's stylesheet and script, once per page. The script is not deferred:
    it must register its Alpine component before Alpine starts."""
    return format_html('<link rel="stylesheet" href="{}"><script src="{}"></script>',
                       static("css/constructor.css"), static("js/constructor.js"))

"""The Assets section's tabs (spec P§11): the pages of the section the user may open.

Pages render ``templates/assets/_tabs.html`` in the shell's ``tabs`` block with
``assets_tabs(request, "media")`` in their context."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

TABS = (
    ("sender_ids", _("Sender IDs"), "sender_ids:list", ("view_sender_ids", "manage_sender_ids")),
    ("media", _("Media"), "media:list", ("manage_media",)),
    ("content_templates", _("Content templates"), "content_templates:list", ("manage_content_templates",)),
)


def assets_tabs(request, active: str) -> list[dict]:
    user = request.user
    tabs = []
    for key, label, url_name, any_of in TABS:
        if not any(user.has_permission(code) for code in any_of):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        tabs.append({"key": key, "label": label, "url": url, "active": key == active})
    return tabs

"""The left menu (spec §2). Each entry names the permissions that show it; the
same permissions guard the pages themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    url_name: str
    icon: str
    any_of: tuple[str, ...] = ()  # empty: every signed-in user
    only_if: Callable | None = None  # (user) -> bool: a further condition (the page checks its own)


def _parent_company(user) -> bool:
    from broadcasts.selectors import has_child_companies

    return has_child_companies(user.company)


MENU = (
    MenuItem("dashboard", _("Dashboard"), "dashboard", "grid", ("view_dashboard",)),
    MenuItem("broadcasts", _("Broadcasts"), "broadcasts:list", "send", ("manage_broadcasts",)),
    # The parent company moderates its child companies' broadcasts (D56).
    MenuItem("moderation", _("Moderation"), "broadcasts:moderation", "filter", ("manage_broadcasts",),
             only_if=_parent_company),
    MenuItem("contacts", _("Contacts"), "contacts:list", "users", ("manage_contacts", "import_contacts",
                                                                "manage_optout_words")),
    MenuItem("conversations", _("Conversations"), "conversations", "chat",
             ("view_conversations", "manage_conversations", "view_chatbots", "manage_chatbots")),
    MenuItem("finance", _("Finance"), "finance", "wallet",
             ("view_payments", "manage_payments", "view_services", "view_invoices")),
    MenuItem("statistics", _("Statistics"), "statistics", "chart", ("view_reports", "view_edrs", "view_statistics")),
    MenuItem("assets", _("Assets"), "assets", "folder",
             ("manage_media", "view_sender_ids", "manage_sender_ids", "manage_content_templates",
              "manage_whatsapp_templates", "manage_conversation_templates")),
    MenuItem("users", _("Users"), "users:list", "user", ("manage_users", "manage_roles")),
    MenuItem("audit", _("Audit"), "audit:list", "list", ("view_audit",)),
    MenuItem("api_accesses", _("API Accesses"), "api_accesses:list", "key", ("manage_api_accesses",)),
    MenuItem("twofa", _("2FA Service"), "twofa", "shield", ("manage_2fa_service",)),
)


def allowed(user, item: MenuItem) -> bool:
    if item.any_of and not any(user.has_permission(code) for code in item.any_of):
        return False
    return item.only_if is None or item.only_if(user)


def menu_for(user, path: str):
    items = []
    for item in MENU:
        if not allowed(user, item):
            continue
        url = reverse(item.url_name)
        items.append({"key": item.key, "label": item.label, "url": url, "icon": item.icon,
                      "active": path.startswith(url)})
    # One active entry: the longest URL the path is under (/broadcasts/moderation/ is not Broadcasts).
    active = [i for i in items if i["active"]]
    for item in active:
        item["active"] = item is max(active, key=lambda i: len(i["url"]))
    return items

"""The left menu (spec §2). Each entry names the permissions that show it; the
same permissions guard the pages themselves."""

from __future__ import annotations

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


MENU = (
    MenuItem("dashboard", _("Dashboard"), "dashboard", "grid", ("view_dashboard",)),
    MenuItem("broadcasts", _("Broadcasts"), "broadcasts:list", "send", ("manage_broadcasts",)),
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
    return not item.any_of or any(user.has_permission(code) for code in item.any_of)


def menu_for(user, path: str):
    items = []
    for item in MENU:
        if not allowed(user, item):
            continue
        url = reverse(item.url_name)
        items.append({"key": item.key, "label": item.label, "url": url, "icon": item.icon,
                      "active": path.startswith(url)})
    return items

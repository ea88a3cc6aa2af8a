"""The permission catalogue (spec §12.5, gap G11) and the menu it drives.

A permission is a code ``<verb>_<area-object>``; each belongs to an area and is either a
*view* or a *manage* permission. Roles hold lists of these codes; a user with *No
restrictions* has them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Permission:
    code: str
    label: str
    area: str
    kind: str  # "view" or "manage"


def _p(code, label, area, kind):
    return Permission(code, label, area, kind)


CATALOGUE: tuple[Permission, ...] = (
    _p("export_entities", _("Export Entities"), _("Export"), "manage"),
    _p("view_dashboard", _("View Dashboard"), _("Dashboard"), "view"),
    _p("manage_broadcasts", _("Manage Broadcasts"), _("Broadcast"), "manage"),
    _p("manage_contacts", _("Manage Contacts"), _("Contacts"), "manage"),
    _p("import_contacts", _("Import Contacts"), _("Contacts"), "manage"),
    _p("manage_optout_words", _("Manage Opt-out words"), _("Contacts"), "manage"),
    _p("view_conversations", _("View Conversations"), _("Conversations"), "view"),
    _p("manage_conversations", _("Manage Conversations"), _("Conversations"), "manage"),
    _p("view_chatbots", _("View Chatbots"), _("Chatbots"), "view"),
    _p("manage_chatbots", _("Manage Chatbots"), _("Chatbots"), "manage"),
    _p("view_payments", _("View Payments"), _("Finance"), "view"),
    _p("manage_payments", _("Manage Payments"), _("Finance"), "manage"),
    _p("view_services", _("View Services"), _("Finance"), "view"),
    _p("view_invoices", _("View Invoices"), _("Finance"), "view"),
    _p("view_reports", _("View Reports"), _("Statistics"), "view"),
    _p("view_edrs", _("View EDRs"), _("Statistics"), "view"),
    _p("view_statistics", _("View Statistics"), _("Statistics"), "view"),
    _p("manage_media", _("Manage Media"), _("Assets"), "manage"),
    _p("view_sender_ids", _("View Sender IDs"), _("Assets"), "view"),
    _p("manage_sender_ids", _("Manage Sender IDs"), _("Assets"), "manage"),
    _p("manage_content_templates", _("Manage Content templates"), _("Assets"), "manage"),
    _p("manage_whatsapp_templates", _("Manage WhatsApp templates"), _("Assets"), "manage"),
    _p("manage_conversation_templates", _("Manage Conversation templates"), _("Assets"), "manage"),
    _p("manage_users", _("Manage Users"), _("Users"), "manage"),
    _p("manage_roles", _("Manage Roles"), _("Users"), "manage"),
    _p("view_audit", _("View Audit"), _("Audit"), "view"),
    _p("manage_api_accesses", _("Manage API Accesses"), _("API"), "manage"),
    _p("manage_2fa_service", _("Manage 2FA service"), _("2FA"), "manage"),
)
BY_CODE = {p.code: p for p in CATALOGUE}
ALL_CODES = frozenset(BY_CODE)


def grouped(codes=None):
    """[(area, [(permission, selected), ...], selected_count), ...] in catalogue order."""
    selected = set(codes or ())
    groups: dict[str, list] = {}
    for perm in CATALOGUE:
        groups.setdefault(str(perm.area), []).append((perm, perm.code in selected))
    return [(area, items, sum(1 for _, s in items if s)) for area, items in groups.items()]


# The four system roles (spec §12.4): code -> (name, description, permission codes).
SYSTEM_ROLES = {
    "admin": (_("Admin"), _("Full access to all interfaces and functions."), sorted(ALL_CODES)),
    "broadcast_manager": (
        _("Broadcast manager"),
        _("Manages broadcasts, contacts, templates and media."),
        [
            "view_dashboard", "manage_broadcasts", "manage_contacts", "import_contacts", "manage_optout_words",
            "view_conversations", "view_chatbots", "view_statistics", "view_reports", "manage_media",
            "view_sender_ids", "manage_content_templates", "manage_whatsapp_templates",
            "manage_conversation_templates", "view_edrs", "export_entities",
        ],
    ),
    "finance_manager": (
        _("Finance manager"),
        _("Financial transactions: payments, services and invoices."),
        ["export_entities", "view_dashboard", "view_payments", "manage_payments", "view_services",
         "view_invoices", "view_reports"],
    ),
    "noc_engineer": (
        _("NOC engineer"),
        _("Monitors, maintains and supports the system."),
        ["export_entities", "view_dashboard", "view_chatbots", "view_conversations", "view_statistics",
         "view_reports", "view_edrs", "view_sender_ids", "view_audit", "view_payments", "view_services",
         "view_invoices", "manage_2fa_service", "manage_media"],
    ),
}


def validate_codes(codes) -> list[str]:
    unknown = sorted(set(codes) - ALL_CODES)
    if unknown:
        raise ValueError(f"Unknown permission(s): {', '.join(unknown)}")
    return sorted(set(codes))

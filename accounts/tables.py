"""Data tables of the Users, Roles and API Accesses pages."""

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from portal.tables import BOOL, DATE, NUMBER, Column, Table


def _role_chips(user):
    if user.unrestricted:
        return format_html('<span class="chip chip-primary">{}</span>', _("No restrictions"))
    return format_html_join(" ", '<span class="chip">{}</span>', ((r.name,) for r in user.roles.all()))


class UserTable(Table):
    key = "users"
    export_name = "users"
    default_sort = "last_name"
    row_actions_template = "accounts/users/_row_actions.html"
    columns = [
        Column("first_name", _("First name"), "first_name"),
        Column("middle_name", _("Middle name"), "middle_name"),
        Column("last_name", _("Last name"), "last_name"),
        Column("login", _("Login"), "login"),
        Column("email", _("E-mail"), "email"),
        Column("phone", _("Contact phone"), "phone"),
        Column("department", _("Department"), "department__name", default=False),
        Column("roles", _("Roles"), "roles__name", sortable=False, default=False,
               accessor=lambda u: [str(_("No restrictions"))] if u.unrestricted else [r.name for r in u.roles.all()],
               html=_role_chips),
        Column("is_active", _("Enabled"), "is_active", kind=BOOL, default=False),
        Column("created_at", _("Created"), "created_at", kind=DATE),
        Column("updated_at", _("Updated"), "updated_at", kind=DATE),
    ]


def _permission_chips(role):
    names = sorted(role.permission_labels)
    shown = format_html_join(" ", '<span class="chip">{}</span>', ((n,) for n in names[:3]))
    if len(names) > 3:
        shown = format_html('{} <span class="chip">+{}</span>', shown, len(names) - 3)
    return shown


def _role_name(role):
    if role.is_system:
        return format_html('{} <span class="badge">· {}</span>', role.name, _("System"))
    return role.name


class RoleTable(Table):
    key = "roles"
    export_name = "roles"
    default_sort = "name"
    row_actions_template = "accounts/roles/_row_actions.html"
    columns = [
        Column("name", _("Name"), "name", html=_role_name),
        Column("description", _("Description"), "description", default=False),
        Column("permissions", _("Permissions"), None, accessor=lambda r: sorted(r.permission_labels),
               html=_permission_chips),
        Column("permission_count", _("Permission count"), None, default=False, kind=NUMBER,
               accessor=lambda r: len(r.permission_set)),
        Column("created_at", _("Created"), "created_at", kind=DATE, default=False),
    ]


class ApiAccessTable(Table):
    key = "api_accesses"
    export_name = "api-accesses"
    default_sort = "-id"
    row_actions_template = "accounts/api_accesses/_row_actions.html"
    columns = [
        Column("id", _("ID"), "id", kind=NUMBER),
        Column("name", _("Name"), "name"),
        Column("key", _("API key"), "key_prefix", sortable=False,
               accessor=lambda a: a.masked_key, html=lambda a: format_html("<code>{}</code>", a.masked_key)),
        Column("scopes", _("Scopes"), "scopes", sortable=False, filterable=False, accessor=lambda a: a.scopes,
               html=lambda a: format_html_join(" ", '<span class="chip">{}</span>', ((s,) for s in a.scopes))),
        Column("webhook", _("Webhook"), "webhook_url"),
        Column("ip_allowlist", _("IP allow-list"), "ip_allowlist", sortable=False, filterable=False, default=False,
               accessor=lambda a: a.ip_allowlist),
        Column("last_used_at", _("Last used"), "last_used_at", kind=DATE, default=False),
        Column("created_at", _("Created"), "created_at", kind=DATE, default=False),
    ]

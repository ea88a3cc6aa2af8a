"""Roles tab (spec §12.4–§12.5): system roles read-only, custom roles editable."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts import selectors, services
from accounts.forms import apply_service_errors
from accounts.forms_admin import RoleForm
from accounts.models import Role
from accounts.tables import RoleTable
from accounts.views.users import _roles_json
from portal.access import PortalAccessMixin, TableView
from portal.permissions import grouped


class RoleListView(TableView):
    required_permissions = ("manage_roles",)
    table_class = RoleTable
    template_name = "accounts/roles/list.html"

    def get_queryset(self):
        return selectors.roles_for(self.company)


class RoleFormMixin(PortalAccessMixin):
    required_permissions = ("manage_roles",)
    template_name = "accounts/roles/form.html"

    def render_form(self, form, role=None, status=200, read_only=False):
        chosen = form.data.getlist("permissions") if form.is_bound else form.initial.get("permissions", [])
        return render(self.request, self.template_name, {
            "form": form, "object": role, "groups": grouped(chosen), "read_only": read_only,
            "roles_json": _roles_json(self.company), "active_tab": "roles"}, status=status)

    def get_role(self, pk, *, custom_only) -> Role:
        qs = Role.objects.for_company(self.company) if custom_only else selectors.roles_for(self.company)
        try:
            return qs.get(pk=pk)
        except Role.DoesNotExist:
            raise Http404


class RoleCreateView(RoleFormMixin, View):
    def get(self, request):
        initial = {}
        template_id = request.GET.get("template")
        if template_id:
            template = self.get_role(template_id, custom_only=False)
            initial = {"template": template, "permissions": sorted(template.permission_set)}
        return self.render_form(RoleForm(initial=initial, company=self.company))

    def post(self, request):
        form = RoleForm(request.POST, company=self.company)
        if form.is_valid():
            try:
                role = services.create_role(actor=self.actor, company=self.company, name=form.cleaned_data["name"],
                                            description=form.cleaned_data["description"],
                                            permissions=form.cleaned_data["permissions"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Role %(name)s created.") % {"name": role.name})
                return redirect("users:roles")
        return self.render_form(form, status=422)


class RoleDetailView(RoleFormMixin, View):
    """Read-only view of a role (the system roles cannot be edited)."""

    def get(self, request, pk):
        role = self.get_role(pk, custom_only=False)
        if not role.is_system:
            return redirect("users:role_edit", pk=role.pk)
        form = RoleForm(initial={"name": role.name, "description": role.description,
                                 "permissions": sorted(role.permission_set)}, company=self.company)
        return self.render_form(form, role, read_only=True)


class RoleUpdateView(RoleFormMixin, View):
    def get(self, request, pk):
        role = self.get_role(pk, custom_only=True)
        form = RoleForm(initial={"name": role.name, "description": role.description,
                                 "permissions": sorted(role.permission_set)}, company=self.company)
        return self.render_form(form, role)

    def post(self, request, pk):
        role = self.get_role(pk, custom_only=True)
        form = RoleForm(request.POST, company=self.company)
        if form.is_valid():
            try:
                services.update_role(actor=self.actor, role=role, name=form.cleaned_data["name"],
                                     description=form.cleaned_data["description"],
                                     permissions=form.cleaned_data["permissions"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Role %(name)s saved.") % {"name": role.name})
                return redirect("users:roles")
        return self.render_form(form, role, status=422)


class RoleDeleteView(RoleFormMixin, View):
    def post(self, request, pk):
        role = self.get_role(pk, custom_only=False)
        try:
            services.delete_role(actor=self.actor, role=role)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Role %(name)s deleted.") % {"name": role.name})
        return redirect("users:roles")

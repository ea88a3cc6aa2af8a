"""Users tab (spec §12.1–§12.3) and departments."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts import selectors, services
from accounts.forms import apply_service_errors
from accounts.forms_admin import DepartmentForm, UserForm
from accounts.models import User
from accounts.tables import UserTable
from portal.access import PortalAccessMixin, TableView
from portal.permissions import grouped


class UserListView(TableView):
    required_permissions = ("manage_users",)
    table_class = UserTable
    template_name = "accounts/users/list.html"

    def get_queryset(self):
        return selectors.users_for(self.company)


def _roles_json(company) -> str:
    """Each role's permission codes, for the live read-only permission list of the Role tab."""
    return json.dumps({str(r.pk): sorted(r.permission_set) for r in selectors.roles_for(company)})


class UserFormMixin(PortalAccessMixin):
    required_permissions = ("manage_users",)
    template_name = "accounts/users/form.html"

    def form(self, data=None, initial=None, creating=False):
        return UserForm(data, initial=initial, company=self.company, creating=creating,
                        can_create_department=self.request.user.is_company_admin)

    def render_form(self, form, user=None, status=200):
        return render(self.request, self.template_name, {
            "form": form, "object": user, "roles_json": _roles_json(self.company),
            "permission_groups": grouped(), "active_tab": "users",
        }, status=status)

    def service_fields(self, form, department):
        data = dict(form.cleaned_data)
        data.pop("new_department", None)
        data.pop("password", None)
        data.pop("roles", None)
        data["department"] = department
        return data

    def department_from(self, form):
        new_name = form.cleaned_data.get("new_department")
        if new_name:
            return services.create_department(actor=self.actor, company=self.company, name=new_name)
        return form.cleaned_data["department"]


class UserCreateView(UserFormMixin, View):
    def get(self, request):
        return self.render_form(self.form(initial={"is_active": True, "language": request.user.language}, creating=True))

    def post(self, request):
        form = self.form(request.POST, creating=True)
        if form.is_valid():
            try:
                with transaction.atomic():
                    department = self.department_from(form)
                    user = services.create_user(actor=self.actor, company=self.company,
                                                password=form.cleaned_data["password"],
                                                roles=form.cleaned_data["roles"],
                                                **self.service_fields(form, department))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("User %(login)s created. They must change the password at first sign-in.")
                                 % {"login": user.login})
                return redirect("users:list")
        return self.render_form(form, status=422)


class UserUpdateView(UserFormMixin, View):
    def get_user(self, pk) -> User:
        try:
            return selectors.user_detail(self.company, pk)
        except User.DoesNotExist:
            raise Http404

    def get(self, request, pk):
        user = self.get_user(pk)
        initial = {f: getattr(user, f) for f in services.USER_FIELDS}
        initial["roles"] = list(user.roles.all())
        return self.render_form(self.form(initial=initial), user)

    def post(self, request, pk):
        user = self.get_user(pk)
        form = self.form(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    department = self.department_from(form)
                    services.update_user(actor=self.actor, user=user, password=form.cleaned_data["password"] or None,
                                         roles=form.cleaned_data["roles"], **self.service_fields(form, department))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("User %(login)s saved. Role changes apply from the user's next page.")
                                 % {"login": user.login})
                return redirect("users:list")
        return self.render_form(form, user, status=422)


class UserDeleteView(PortalAccessMixin, View):
    required_permissions = ("manage_users",)

    def post(self, request, pk):
        try:
            user = selectors.user_detail(self.company, pk)
        except User.DoesNotExist:
            raise Http404
        try:
            services.delete_user(actor=self.actor, user=user)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("User %(login)s deleted.") % {"login": user.login})
        return redirect("users:list")


class DepartmentListView(PortalAccessMixin, View):
    required_permissions = ("manage_users",)
    template_name = "accounts/users/departments.html"

    def page(self, form, status=200):
        departments = selectors.departments_for(self.company).annotate(user_count=Count("users"))
        return render(self.request, self.template_name, {
            "form": form, "departments": departments, "active_tab": "departments",
            "can_create": self.request.user.is_company_admin}, status=status)

    def get(self, request):
        return self.page(DepartmentForm())

    def post(self, request):
        form = DepartmentForm(request.POST)
        if form.is_valid():
            try:
                services.create_department(actor=self.actor, company=self.company, name=form.cleaned_data["name"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Department created."))
                return redirect("users:departments")
        return self.page(form, status=422)

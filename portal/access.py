"""Page-level access control: sign-in, a company, and the permissions a page needs.
The menu only hides what these checks already forbid."""

from __future__ import annotations

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views import View

from portal.audit import Actor


class PortalAccessMixin(AccessMixin):
    """Sign-in required; the user must belong to a company; and, when
    ``required_permissions`` is set, hold at least one of them."""

    required_permissions: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return self.handle_no_permission()
        if user.company_id is None:
            # BackOffice staff of the system owner work in the Django admin.
            return redirect("admin:index")
        if self.required_permissions and not any(user.has_permission(c) for c in self.required_permissions):
            raise PermissionDenied
        self.company = user.company
        return super().dispatch(request, *args, **kwargs)

    @property
    def actor(self) -> Actor:
        return Actor.from_request(self.request)


class TableView(PortalAccessMixin, View):
    """A list page built on the data table: GET renders, ``?export=csv|xlsx`` downloads."""

    table_class = None
    template_name = ""

    def get_queryset(self):
        raise NotImplementedError

    def get_context(self, table):
        return {}

    def get(self, request, *args, **kwargs):
        table = self.table_class(request, self.get_queryset())
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return table.export(fmt)
        return render(request, self.template_name, {"datatable": table.render(), **self.get_context(table)})

"""REST endpoints of the accounts app: ``/me``, users (read) and departments.

Users and departments are CRM objects: they need the ``crm`` scope. ``/me`` needs only a
valid key. Every read comes from ``accounts.selectors`` for the key's company; every write is
one call to ``accounts.services`` with the key as actor (audited).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.response import Response

from accounts import selectors, services
from accounts.api.filters import UserFilter
from accounts.api.serializers import DepartmentInput, DepartmentOutput, MeOutput, UserOutput
from accounts.models import ApiScope, Department, User
from portal.api.schema import error_responses
from portal.api.views import TenantAPIView, TenantViewSet

ME_EXAMPLE = {
    "company": {"id": 1, "name": "Acme", "time_zone": "Europe/Madrid", "currency": "EUR"},
    "api_access": {
        "id": 3, "name": "CRM sync", "scopes": ["crm", "broadcast"], "allowed_senders": ["ACME"],
        "webhook_url": "https://crm.example.com/herald/webhook", "ip_allowlist": ["203.0.113.0/24"],
        "created_at": "2025-01-15T09:30:00Z", "last_used_at": "2025-03-02T17:04:11Z",
    },
}
USER_EXAMPLE = {
    "id": 42, "login": "j.smith", "first_name": "John", "middle_name": "", "last_name": "Smith",
    "email": "j.smith@example.com", "phone": "+34600111222", "department": {"id": 2, "name": "First line support"},
    "language": "en", "is_active": True, "unrestricted": False,
    "roles": [{"id": 1, "name": "Admin"}], "created_at": "2025-01-15T09:30:00Z", "updated_at": "2025-02-01T12:00:00Z",
}
DEPARTMENT_EXAMPLE = {"id": 7, "name": "Sales", "created_at": "2025-03-02T17:04:11Z"}


class MeView(TenantAPIView):
    """The key's own company and API access (API seed ``auth/me``)."""

    @extend_schema(
        operation_id="me_retrieve", tags=["me"], summary="Who am I: the key's company and API access",
        description="Any valid key may call it; no scope is needed. Use it to check a key.",
        responses={200: MeOutput, **error_responses()},
        examples=[OpenApiExample("Me", value=ME_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        return Response(MeOutput({"company": self.get_company(), "api_access": request.auth}).data)


@extend_schema_view(
    list=extend_schema(
        summary="List the company's users",
        description="Newest first, cursor-paginated. Filters: `login`, `email` (exact, case-insensitive), "
                    "`department` (id), `is_active`. Needs the `crm` scope.",
        responses={200: UserOutput, **error_responses(422)},
        examples=[OpenApiExample("A page of users", value=USER_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get one user", description="Needs the `crm` scope.",
        responses={200: UserOutput, **error_responses(404)},
        examples=[OpenApiExample("User", value=USER_EXAMPLE, response_only=True)],
    ),
)
@extend_schema(tags=["users"])
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Portal users of the key's company (read-only; never a password or its hash)."""

    required_scope = ApiScope.CRM
    model = User
    selector = staticmethod(selectors.users_for)
    serializer_class = UserOutput
    filterset_class = UserFilter


@extend_schema_view(
    list=extend_schema(
        summary="List the company's departments", description="Newest first, cursor-paginated. Needs `crm`.",
        responses={200: DepartmentOutput, **error_responses()},
        examples=[OpenApiExample("A page of departments", value=DEPARTMENT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get one department", description="Needs the `crm` scope.",
        responses={200: DepartmentOutput, **error_responses(404)},
        examples=[OpenApiExample("Department", value=DEPARTMENT_EXAMPLE, response_only=True)],
    ),
)
@extend_schema(tags=["departments"])
class DepartmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Departments of the key's company. Users and conversations are assigned to them."""

    required_scope = ApiScope.CRM
    model = Department
    selector = staticmethod(selectors.departments_for)
    serializer_class = DepartmentOutput

    @extend_schema(
        summary="Create a department",
        description="The name must be unique in the company (case-insensitive). Needs the `crm` scope. "
                    "Recorded in the audit log with this API key as the actor.",
        request=DepartmentInput,
        responses={201: DepartmentOutput, **error_responses(422)},
        examples=[
            OpenApiExample("New department", value={"name": "Sales"}, request_only=True),
            OpenApiExample("Created", value=DEPARTMENT_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def create(self, request):
        data = self.validated_input(DepartmentInput)
        department = services.create_department(actor=self.actor(), company=self.get_company(), name=data["name"])
        return self.output(department, status=201)

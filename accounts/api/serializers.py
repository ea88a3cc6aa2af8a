"""Input and output serializers of the accounts API. Output serializers only shape rows the
selectors already fetched (no queries of their own); input serializers only check shapes and
types: the rules live in ``accounts.services``."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import ApiAccess, ApiScope, Company, Department, Language, Role, User

# --- output ---------------------------------------------------------------------------------


class CompanyOutput(serializers.ModelSerializer):
    time_zone = serializers.CharField(help_text="IANA time zone, e.g. Europe/Madrid.")
    currency = serializers.CharField(help_text="Default currency (ISO 4217).")

    class Meta:
        model = Company
        fields = ["id", "name", "time_zone", "currency"]
        read_only_fields = fields
        ref_name = "Company"


class ApiAccessOutput(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiScope.choices),
                                   help_text="The scopes this key holds.")
    allowed_senders = serializers.ListField(child=serializers.CharField(),
                                            help_text="Sender IDs this key may send from; empty = all.")
    ip_allowlist = serializers.ListField(child=serializers.CharField(),
                                         help_text="Networks the key may be used from; empty = anywhere.")
    last_used_at = serializers.DateTimeField(allow_null=True,
                                             help_text="Last recorded use before this request (recorded at "
                                                       "most once a minute).")

    class Meta:
        model = ApiAccess
        fields = ["id", "name", "scopes", "allowed_senders", "webhook_url", "ip_allowlist", "created_at",
                  "last_used_at"]
        read_only_fields = fields
        ref_name = "ApiAccess"


class MeOutput(serializers.Serializer):
    company = CompanyOutput()
    api_access = ApiAccessOutput()

    class Meta:
        ref_name = "Me"


class DepartmentRef(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name"]
        read_only_fields = fields
        ref_name = "DepartmentRef"


class RoleRef(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name"]
        read_only_fields = fields
        ref_name = "RoleRef"


class UserOutput(serializers.ModelSerializer):
    """A portal user, never with a password or a hash."""

    department = DepartmentRef(allow_null=True)
    roles = RoleRef(many=True)
    language = serializers.ChoiceField(choices=Language.choices)

    class Meta:
        model = User
        fields = ["id", "login", "first_name", "middle_name", "last_name", "email", "phone", "department",
                  "language", "is_active", "unrestricted", "roles", "created_at", "updated_at"]
        read_only_fields = fields
        ref_name = "User"


class DepartmentOutput(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "created_at"]
        read_only_fields = fields
        ref_name = "Department"


# --- input ----------------------------------------------------------------------------------


class DepartmentInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="Unique in the company (case-insensitive).")

    class Meta:
        ref_name = "DepartmentCreate"

"""The BackOffice (Django admin) of the system owner: companies, users, roles and API
accesses. Writes that carry business rules go through accounts.services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import ApiAccess, Company, Department, Role, User
from portal.audit import Actor


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ("name",)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "time_zone", "currency", "moderation", "is_active", "created_at")
    list_filter = ("moderation", "is_active", "currency")
    search_fields = ("name",)
    inlines = [DepartmentInline]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        fields = {f: form.cleaned_data[f] for f in form.cleaned_data if f != "name"}
        created = services.create_company(name=form.cleaned_data["name"], actor=Actor.from_request(request), **fields)
        obj.pk = created.pk
        obj.refresh_from_db()


class RoleAdminForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = ("company", "name", "description", "permissions")


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleAdminForm
    list_display = ("name", "company", "system_code")
    list_filter = ("company",)
    search_fields = ("name",)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)


class UserCreationForm(forms.ModelForm):
    password = forms.CharField(label=_("Default password"), widget=forms.PasswordInput, strip=False,
                               help_text=_("The user must change it at first sign-in."))

    class Meta:
        model = User
        fields = ("company", "login", "first_name", "last_name", "email", "department", "unrestricted", "is_staff")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreationForm
    list_display = ("login", "full_name", "company", "email", "is_active", "blocked_for_inactivity", "locked_until",
                    "last_login")
    list_filter = ("company", "is_active", "blocked_for_inactivity", "is_staff", "unrestricted")
    search_fields = ("login", "first_name", "last_name", "email")
    ordering = ("login",)
    filter_horizontal = ("roles",)
    readonly_fields = ("last_login", "password_changed_at", "created_at", "updated_at", "failed_login_count",
                       "locked_until", "blocked_for_inactivity")
    actions = ["unblock"]
    fieldsets = (
        (None, {"fields": ("company", "login", "password")}),
        (_("Person"), {"fields": ("first_name", "middle_name", "last_name", "email", "phone", "department",
                                  "language", "theme")}),
        (_("Access"), {"fields": ("is_active", "unrestricted", "roles", "two_factor_enabled", "is_staff",
                                  "is_superuser")}),
        (_("Security"), {"fields": ("must_change_password", "password_changed_at", "failed_login_count",
                                    "locked_until", "blocked_for_inactivity", "last_login", "created_at",
                                    "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": UserCreationForm.Meta.fields + ("password",)}),)

    @admin.action(description=_("Unblock the selected users (inactivity or failed sign-ins)"))
    def unblock(self, request, queryset):
        for user in queryset:
            services.unblock_user(actor=Actor.from_request(request), user=user)
        self.message_user(request, _("%(n)d user(s) unblocked.") % {"n": queryset.count()}, messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.set_password(form.cleaned_data["password"])
            obj.must_change_password = True
        super().save_model(request, obj, form, change)


@admin.register(ApiAccess)
class ApiAccessAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "key_prefix", "scopes", "last_used_at", "created_at")
    list_filter = ("company",)
    search_fields = ("name", "key_prefix")
    readonly_fields = ("key_prefix", "key_hash", "created_by", "last_used_at", "created_at", "updated_at")
    fields = ("company", "name", "webhook_url", "scopes", "allowed_senders", "ip_allowlist") + readonly_fields

    def has_add_permission(self, request):
        # Keys are created in the portal (API Accesses), where the key is shown once.
        return False

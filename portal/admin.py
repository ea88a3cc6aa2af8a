"""The audit log in the BackOffice: read-only."""

from django.contrib import admin

from portal.models import AuditDetail, AuditEvent


class AuditDetailInline(admin.TabularInline):
    model = AuditDetail
    extra = 0
    can_delete = False
    readonly_fields = ("table", "operation", "object_id", "old_value", "new_value")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "company", "actor_label", "ip_address", "action", "detail_count")
    list_filter = ("company",)
    search_fields = ("action", "user_login", "api_access_name")
    date_hierarchy = "created_at"
    inlines = [AuditDetailInline]
    readonly_fields = ("company", "user", "user_login", "api_access", "api_access_name", "ip_address", "action",
                       "detail_count", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""BackOffice view of content templates (the portal pages that build them come later)."""

from django.contrib import admin

from assets.models import ContentTemplate


@admin.register(ContentTemplate)
class ContentTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "channel", "sender", "created_by", "updated_at")
    list_filter = ("channel",)
    search_fields = ("name", "company__name", "sender")
    list_select_related = ("company", "created_by")
    raw_id_fields = ("company", "created_by")
    readonly_fields = ("created_at", "updated_at")

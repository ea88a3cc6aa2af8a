"""BackOffice view of content templates and media (the portal builds them; the BackOffice
looks, and may delete a media file)."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from assets.models import ContentTemplate, Media
from assets.services import media as media_services
from portal.audit import Actor


@admin.register(ContentTemplate)
class ContentTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "channel", "sender", "created_by", "updated_at")
    list_filter = ("channel",)
    search_fields = ("name", "company__name", "sender")
    list_select_related = ("company", "created_by")
    raw_id_fields = ("company", "created_by")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    """Read-only: files are uploaded in the portal, where their content is checked. A
    deletion goes through the service (audited; the files are removed after commit)."""

    list_display = ("name", "company", "media_type", "format", "dimensions", "weight", "created_by", "created_at")
    list_filter = ("media_type", "format")
    search_fields = ("name", "company__name")
    list_select_related = ("company", "created_by")
    date_hierarchy = "created_at"
    fields = ("preview", "name", "company", "media_type", "format", "mime_type", "width", "height", "size", "file",
              "thumbnail", "created_by", "created_at")
    readonly_fields = fields

    @admin.display(description=_("Preview"))
    def preview(self, obj):
        if obj.thumbnail:
            return format_html('<img src="{}" alt="" style="max-width:160px;max-height:160px">', obj.thumbnail.url)
        return obj.format

    @admin.display(description=_("Size"))
    def dimensions(self, obj):
        return obj.dimensions

    @admin.display(description=_("Weight"), ordering="size")
    def weight(self, obj):
        return obj.weight

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def _actor(self, request, company):
        actor = Actor.from_request(request)
        actor.company = company
        return actor

    def delete_model(self, request, obj):
        media_services.delete_media(actor=self._actor(request, obj.company), media=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("company"):
            media_services.delete_media(actor=self._actor(request, obj.company), media=obj)

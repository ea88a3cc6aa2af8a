"""The Media pages (spec P§11.1), under Assets at ``/assets/media/`` (``media`` namespace).

* the list on the data table, or as cards (the choice is remembered per user);
* *+ Add Media*: several files at once (``add``); the page then says which were saved and
  which were refused, and why;
* a file's page (``detail``), *Download* (the original name, as an attachment), *Delete*;
* two JSON endpoints for the message constructor: ``picker`` (the company's files, newest
  first) and ``upload`` (the same checks as the page; the files are saved in Media).

Pages need *Manage Media*; the JSON endpoints any of *Manage Media*, *Manage Broadcasts*,
*Manage Content templates*. Another company's file answers 404. Dates are shown in the
company's time zone.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from accounts import services as account_services
from accounts.models import TablePreference
from portal.access import PortalAccessMixin
from portal.timezones import CompanyZoneMixin

from . import filetypes, selectors
from .models import Media, MediaType, human_size
from .navigation import assets_tabs
from .services import media as services
from .tables_media import CARDS, TABLE, VIEWS, MediaTable, upload_time

MANAGE_PERMISSIONS = ("manage_media",)
PICKER_PERMISSIONS = ("manage_media", "manage_broadcasts", "manage_content_templates")
VIEW_PREFERENCE = "media-view"  # TablePreference.table holding ["table"] or ["cards"]
# The file picker's hint (the server checks the content whatever the name).
ACCEPT = ",".join(sorted({f".{ext}" for kind in filetypes.KINDS for ext in kind.extensions}))


def media_json(request, media: Media) -> dict:
    """One file as the message constructor reads it (absolute URLs)."""
    return {
        "id": media.pk,
        "name": media.name,
        "url": request.build_absolute_uri(media.file.url),
        "thumbnail_url": request.build_absolute_uri(media.thumbnail.url) if media.thumbnail else None,
        "media_type": media.media_type,
        "format": media.format,
        "width": media.width,
        "height": media.height,
        "size": media.size,
    }


class MediaAccess(PortalAccessMixin, CompanyZoneMixin):
    """*Manage Media*; dates in the company's time zone; ``get_media`` answers 404 for an
    unknown id or another company's."""

    required_permissions = MANAGE_PERMISSIONS

    def get_media(self, pk) -> Media:
        media = selectors.media(self.company, pk)
        if media is None:
            raise Http404
        media.company = self.company
        return media


class MediaListView(MediaAccess, View):
    template_name = "assets/media/list.html"

    def view_mode(self) -> str:
        """The card or table view: ``?view=`` switches and is remembered for the user."""
        user = self.request.user
        requested = self.request.GET.get("view")
        saved = TablePreference.objects.filter(user=user, table=VIEW_PREFERENCE).values_list("columns", flat=True)
        saved = next(iter(saved), None) or [TABLE]
        if requested in VIEWS:
            if requested != saved[0]:
                account_services.save_table_columns(user=user, table=VIEW_PREFERENCE, columns=[requested])
            return requested
        return saved[0] if saved[0] in VIEWS else TABLE

    def get(self, request):
        view = self.view_mode()
        table = MediaTable(request, selectors.media_for(self.company), view=view)
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return table.export(fmt)
        return render(request, self.template_name, {
            "datatable": table.render(), "table": table, "view": view,
            "table_view_url": table.url(view=TABLE, page=None), "cards_view_url": table.url(view=CARDS, page=None),
            "max_bytes": services.max_bytes(), "max_size": human_size(services.max_bytes()),
            "accept": ACCEPT, "assets_tabs": assets_tabs(request, "media"),
        })


def report_upload(request, result: services.UploadResult) -> None:
    """The page's messages after an upload: how many were saved, each refused file and why."""
    if result.saved:
        count = len(result.saved)
        messages.success(request, ngettext("%(count)d file uploaded.", "%(count)d files uploaded.", count)
                         % {"count": count})
    for refusal in result.refused:
        if refusal.name:
            messages.error(request, _("“%(name)s” was not uploaded: %(error)s")
                           % {"name": refusal.name, "error": refusal.error})
        else:
            messages.error(request, refusal.error)


class MediaAddView(MediaAccess, View):
    """*+ Add Media* → *Save changes*: the dialog's files, then back to the list."""

    def get(self, request):
        return redirect("media:list")

    def post(self, request):
        result = services.upload_media(actor=self.actor, company=self.company, files=request.FILES.getlist("files"))
        report_upload(request, result)
        return redirect("media:list")


class MediaDetailView(MediaAccess, View):
    template_name = "assets/media/detail.html"

    def get(self, request, pk):
        media = self.get_media(pk)
        return render(request, self.template_name, {
            "object": media, "public_url": request.build_absolute_uri(media.file.url),
            "uploaded_at": upload_time(media.created_at),
            "uploaded_by": media.created_by.full_name if media.created_by_id and media.created_by else "",
            "assets_tabs": assets_tabs(request, "media"),
        })


class MediaDownloadView(MediaAccess, View):
    def get(self, request, pk):
        media = self.get_media(pk)
        try:
            handle = media.file.open("rb")
        except FileNotFoundError:
            raise Http404(_("The file is missing from the storage."))
        return FileResponse(handle, as_attachment=True, filename=media.name, content_type=media.mime_type)


class MediaDeleteView(MediaAccess, View):
    def post(self, request, pk):
        media = self.get_media(pk)
        services.delete_media(actor=self.actor, media=media)
        messages.success(request, _("“%(name)s” deleted.") % {"name": media.name})
        return redirect("media:list")


# --- JSON for the message constructor -------------------------------------------------------------

class MediaJsonAccess(MediaAccess):
    """Answers JSON, not pages: 401 when signed out, 403 without a permission."""

    required_permissions = PICKER_PERMISSIONS

    def handle_no_permission(self):
        return JsonResponse({"error": _("Sign in to use media.")}, status=401)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.company_id is None:
            return JsonResponse({"error": _("Only company users have media.")}, status=403)
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied:
            return JsonResponse({"error": _("You do not have permission to use media.")}, status=403)


class MediaPickerView(MediaJsonAccess, View):
    """``GET ?type=image|video|audio|document&q=text`` → ``{"results": [...]}``, newest first,
    at most 100."""

    def get(self, request):
        media_type = (request.GET.get("type") or "").strip().lower()
        if media_type and media_type not in MediaType.values:
            return JsonResponse({"error": _("Unknown media type “%(type)s”; use one of: %(types)s.")
                                 % {"type": media_type, "types": ", ".join(MediaType.values)}}, status=400)
        files = selectors.media_picker(self.company, media_type=media_type, query=request.GET.get("q", ""))
        return JsonResponse({"results": [media_json(request, m) for m in files]})


class MediaUploadView(MediaJsonAccess, View):
    """``POST`` multipart ``files`` → 201 ``{"results": [...], "errors": [...]}``; 400
    ``{"errors": [...]}`` when nothing was saved."""

    def post(self, request):
        result = services.upload_media(actor=self.actor, company=self.company, files=request.FILES.getlist("files"))
        errors = [{"name": r.name, "error": r.error} for r in result.refused]
        if not result.saved:
            return JsonResponse({"errors": errors}, status=400)
        return JsonResponse({"results": [media_json(request, m) for m in result.saved], "errors": errors}, status=201)

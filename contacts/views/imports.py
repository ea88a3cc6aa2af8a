"""Import contacts (spec P§6.8): the wizard's five steps, the run's progress and result,
the rejected rows download, and quick import. Every rule lives in
``contacts.services.imports``; these views parse the request, call it and render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from portal.access import PortalAccessMixin

from .. import readers
from ..models import ContactImport, DuplicateMode, ImportStatus
from ..selectors import attributes_for, tags_for
from ..services import imports as service

STEPS = (
    (1, gettext_lazy("File upload")),
    (2, gettext_lazy("Select the first row")),
    (3, gettext_lazy("Attribute mapping")),
    (4, gettext_lazy("Duplicate record management")),
    (5, gettext_lazy("Import results")),
)
STEP_URLS = {2: "contacts:import_rows", 3: "contacts:import_mapping", 4: "contacts:import_duplicates",
             5: "contacts:import_preview"}


class _LimitUploadHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes the size limit, so nothing bigger than
    the limit is ever written to disk."""

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.refused_size = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + 1024 * 1024:  # the form fields around the file
            self.refused_size = content_length

    def receive_data_chunk(self, raw_data, start):
        if self.refused_size or start + len(raw_data) > self.limit:
            self.refused_size = self.refused_size or start + len(raw_data)
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _attribute_manager_url(next_url: str = "") -> str | None:
    try:
        url = reverse("contacts:attributes")
    except NoReverseMatch:
        return None
    return f"{url}?next={next_url}" if next_url else url


class ImportAccessMixin(PortalAccessMixin):
    required_permissions = ("import_contacts",)

    def get_import(self, pk, kind=None) -> ContactImport:
        qs = service.imports_for(self.company).select_related("tag", "created_by")
        if kind:
            qs = qs.filter(kind=kind)
        return get_object_or_404(qs, pk=pk)

    def render_step(self, request, template, imp, step, context=None, status=200):
        ctx = {"imp": imp, "steps": STEPS, "step": step, "active_tab": "import"}
        ctx.update(context or {})
        return render(request, template, ctx, status=status)


def _upload_refusal(handler) -> str | None:
    if handler.refused_size:
        limit = readers.max_upload_bytes()
        return _("The file is %(size)s, more than the %(limit)s allowed.") % {
            "size": readers.human_size(handler.refused_size), "limit": readers.human_size(limit)}
    return None


@method_decorator(csrf_exempt, name="dispatch")  # CSRF is checked in post(), after the upload handler is set
class UploadPageMixin(ImportAccessMixin, View):
    """A page with an upload form: the body is read through the size-limit handler, and
    the CSRF check runs only once that handler is in place. Subclasses give ``context()``
    and ``_post(request, handler)``."""

    def get(self, request):
        return render(request, self.template_name, self.context())

    def post(self, request):
        handler = _LimitUploadHandler(request, readers.max_upload_bytes())
        request.upload_handlers.insert(0, handler)
        return csrf_protect(self._post)(request, handler)


class ImportStartView(UploadPageMixin):
    """Step 1: upload a file; the history of the last five files."""

    template_name = "contacts/import/upload.html"

    def context(self, **extra):
        return {"history": service.import_history(self.company), "steps": STEPS, "step": 1,
                "max_size": readers.human_size(readers.max_upload_bytes()),
                "max_rows": f"{readers.max_rows():,}", "active_tab": "import", **extra}


    def _post(self, request, handler):
        upload = request.FILES.get("file")  # reads the body, through the size-limit handler
        error = _upload_refusal(handler)
        if error is None and upload is None:
            error = _("Choose a file to upload.")
        if error is None:
            try:
                imp = service.create_import(actor=self.actor, company=self.company, file=upload)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                return redirect("contacts:import_rows", imp.pk)
        return render(request, self.template_name, self.context(error=error), status=400)


class ImportWizardStep(ImportAccessMixin, View):
    step = 0
    template_name = ""

    def load(self, pk):
        imp = self.get_import(pk, kind=ContactImport.WIZARD)
        if imp.status != ImportStatus.UPLOADED:
            return imp, redirect("contacts:import_result", imp.pk)
        return imp, None


class ImportRowsView(ImportWizardStep):
    """Step 2: the grid (Column A, B, …) and the first data row."""

    template_name = "contacts/import/rows.html"

    def get(self, request, pk, error=None):
        imp, done = self.load(pk)
        if done:
            return done
        try:
            page = int(request.GET.get("page") or 1)
        except ValueError:
            page = 1
        grid = service.preview_page(imp, page)
        return self.render_step(request, self.template_name, imp, 2, {"grid": grid, "error": error},
                                status=400 if error else 200)

    def post(self, request, pk):
        imp, done = self.load(pk)
        if done:
            return done
        try:
            service.set_first_row(actor=self.actor, imp=imp, first_row=request.POST.get("first_row"))
        except ValidationError as exc:
            return self.get(request, pk, error=" ".join(exc.messages))
        return redirect("contacts:import_mapping", imp.pk)


class ImportMappingView(ImportWizardStep):
    """Step 3: a target per column (phone required), presets, automatic mapping."""

    template_name = "contacts/import/mapping.html"

    def get(self, request, pk, errors=None, posted=None):
        imp, done = self.load(pk)
        if done:
            return done
        presets = list(service.presets_for(self.company))
        chosen = None
        preset_id = request.GET.get("preset") or (request.POST.get("preset") if posted is not None else None)
        if preset_id:
            chosen = next((p for p in presets if str(p.pk) == str(preset_id)), None)
        columns, used_preset = service.suggest_mapping(imp, preset=chosen)
        if posted is not None:
            for col in columns:
                col.target = posted.get(str(col.index), "")
                col.unknown = bool(col.header) and not col.target
        options = [(service.PHONE, _("Phone number"))] + [(a.key, a.name) for a in attributes_for(self.company)]
        back = reverse("contacts:import_mapping", args=[imp.pk])
        return self.render_step(request, self.template_name, imp, 3, {
            "columns": columns, "options": options, "presets": presets, "used_preset": used_preset,
            "unknown": [c for c in columns if c.unknown], "errors": errors or [],
            "attribute_manager_url": _attribute_manager_url(back),
            "preset_name": (request.POST.get("preset_name") or "") if posted is not None else "",
        }, status=400 if errors else 200)

    def post(self, request, pk):
        imp, done = self.load(pk)
        if done:
            return done
        info = service.file_info(imp)
        mapping = {str(i): request.POST.get(f"col-{i}", "") for i in range(info.columns)}
        try:
            service.set_mapping(actor=self.actor, imp=imp, mapping=mapping,
                                preset_name=request.POST.get("preset_name", ""))
        except ValidationError as exc:
            return self.get(request, pk, errors=exc.messages, posted=mapping)
        return redirect("contacts:import_duplicates", imp.pk)


class ImportDuplicatesView(ImportWizardStep):
    """Step 4: duplicates mode, the tag, and the duplicates found by the check."""

    template_name = "contacts/import/duplicates.html"

    def get(self, request, pk, error=None):
        imp, done = self.load(pk)
        if done:
            return done
        if not imp.mapping:
            return redirect("contacts:import_mapping", imp.pk)
        check = service.check_result(imp)
        return self.render_step(request, self.template_name, imp, 4, {
            "check": check, "modes": DuplicateMode.choices, "error": error,
            "tags": list(tags_for(self.company).order_by("name").values_list("name", flat=True)[:500]),
        }, status=400 if error else 200)

    def post(self, request, pk):
        imp, done = self.load(pk)
        if done:
            return done
        try:
            service.set_duplicates(actor=self.actor, imp=imp, mode=request.POST.get("duplicate_mode", ""),
                                   tag=request.POST.get("tag", ""))
        except ValidationError as exc:
            return self.get(request, pk, error=" ".join(exc.messages))
        return redirect("contacts:import_preview", imp.pk)


class ImportPreviewView(ImportWizardStep):
    """Step 5: counts "To be imported" / "Error", the first rows with errors; Import."""

    template_name = "contacts/import/preview.html"

    def get(self, request, pk):
        imp, done = self.load(pk)
        if done:
            return done
        if not imp.mapping:
            return redirect("contacts:import_mapping", imp.pk)
        check = service.check_result(imp)
        return self.render_step(request, self.template_name, imp, 5, {
            "check": check, "counts": service.check_counts(imp, check)})

    def post(self, request, pk):
        imp, done = self.load(pk)
        if done:
            return done
        try:
            service.start_import(actor=self.actor, imp=imp)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("contacts:import_mapping", imp.pk)
        return redirect("contacts:import_result", imp.pk)


class ImportCheckStatusView(ImportAccessMixin, View):
    """The check's progress for steps 4 and 5 (polled); reloads the page when done."""

    def get(self, request, pk):
        imp = self.get_import(pk)
        check = service.check_result(imp)
        if check is None or check.get("state") in ("done", "failed"):
            response = HttpResponse("")
            response["HX-Refresh"] = "true"
            return response
        return render(request, "contacts/import/_check_status.html", {"imp": imp, "check": check})


class ImportResultView(ImportAccessMixin, View):
    """The run: live progress, then the summary and the rejected rows."""

    template_name = "contacts/import/result.html"

    def get(self, request, pk):
        imp = self.get_import(pk)
        if imp.status == ImportStatus.UPLOADED:
            target = "contacts:quick_import_confirm" if imp.kind == ContactImport.QUICK else "contacts:import_rows"
            return redirect(target, imp.pk)
        return self.render_step(request, self.template_name, imp, 5, self.status_context(imp))

    @staticmethod
    def status_context(imp):
        status = service.import_status(imp)
        errors = service.import_errors(imp, 20) if status["finished"] and imp.error_count else []
        return {"status": status, "errors": errors}


class ImportStatusView(ImportAccessMixin, View):
    """Small status for polling: the progress partial (htmx) or JSON (``?format=json``)."""

    def get(self, request, pk):
        imp = self.get_import(pk)
        service.resume_if_stalled(imp)
        imp.refresh_from_db()
        if request.GET.get("format") == "json" or "application/json" in request.headers.get("Accept", ""):
            status = service.import_status(imp)
            for key in ("started_at", "finished_at"):
                status[key] = status[key].isoformat() if status[key] else None
            status["error_report_url"] = (reverse("contacts:import_errors", args=[imp.pk])
                                          if imp.status == ImportStatus.DONE and imp.error_count else None)
            return JsonResponse(status)
        return render(request, "contacts/import/_status.html", {"imp": imp, **ImportResultView.status_context(imp)})


class ImportErrorsView(ImportAccessMixin, View):
    """The rejected rows (original columns + Error) as XLSX."""

    def get(self, request, pk):
        imp = self.get_import(pk)
        report = service.error_report(imp)
        if report is None:
            raise Http404
        stamp = timezone.localtime(imp.finished_at or timezone.now()).strftime("%Y%m%d-%H%M%S")
        return FileResponse(report.open("rb"), as_attachment=True, filename=f"rejected-rows-{imp.pk}-{stamp}.xlsx",
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class QuickImportView(UploadPageMixin):
    """Quick import: a file with one column of phone numbers and a tag."""

    template_name = "contacts/import/quick.html"

    def context(self, **extra):
        default_tag = _("Quick import %(when)s") % {"when": timezone.localtime().strftime("%d.%m.%Y %H:%M")}
        return {"max_size": readers.human_size(readers.max_upload_bytes()), "active_tab": "import",
                "tag": default_tag, "tags": list(tags_for(self.company).order_by("name")
                                                 .values_list("name", flat=True)[:500]), **extra}


    def _post(self, request, handler):
        upload = request.FILES.get("file")  # reads the body, through the size-limit handler
        tag = request.POST.get("tag", "")
        error = _upload_refusal(handler)
        if error is None and upload is None:
            error = _("Choose a file to upload.")
        if error is None:
            try:
                imp = service.create_quick_import(actor=self.actor, company=self.company, file=upload, tag=tag)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                return redirect("contacts:quick_import_confirm", imp.pk)
        return render(request, self.template_name, self.context(error=error, tag=tag), status=400)


class QuickImportConfirmView(ImportAccessMixin, View):
    """Quick import, second page: records to import and records with errors; Import."""

    template_name = "contacts/import/quick_confirm.html"

    def get(self, request, pk):
        imp = self.get_import(pk, kind=ContactImport.QUICK)
        if imp.status != ImportStatus.UPLOADED:
            return redirect("contacts:import_result", imp.pk)
        check = service.check_result(imp)
        return render(request, self.template_name, {
            "imp": imp, "check": check, "counts": service.check_counts(imp, check), "active_tab": "import",
            "broadcasts_url": _broadcasts_url()})

    def post(self, request, pk):
        imp = self.get_import(pk, kind=ContactImport.QUICK)
        if imp.status == ImportStatus.UPLOADED:
            service.start_import(actor=self.actor, imp=imp)
            messages.success(request, _("Importing the numbers of %(file)s in the background with the tag “%(tag)s”: "
                                        "choose that tag as the recipients of your broadcast.")
                             % {"file": imp.original_name, "tag": imp.tag.name if imp.tag else ""})
        # Rule 5: a quick import then opens the broadcast creation, with its tag chosen.
        return redirect(_broadcasts_url() + (f"new/?tag={imp.tag_id}" if imp.tag_id else ""))


def _broadcasts_url() -> str:
    try:
        return reverse("broadcasts:list")
    except NoReverseMatch:
        return "/broadcasts/"

"""BackOffice for broadcasts: the moderation queue (approve / reject, spec §4.2, rule 10,
gap G9) and read-mostly views of runs and templates."""

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from broadcasts.models import Broadcast, BroadcastStatus, BroadcastTemplate
from broadcasts.services import runs
from broadcasts.services import templates as template_services
from broadcasts.services.definition import BroadcastError
from portal.audit import Actor


def _moderate(modeladmin, request, queryset, decide, done_text):
    actor = Actor.from_request(request)
    done, refused = 0, []
    for broadcast in queryset.select_related("company"):
        try:
            decide(actor, broadcast)
        except BroadcastError as exc:
            refused.append(f"{broadcast.name}: {' '.join(exc.errors.values())}")
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_text % {"n": done}, messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.ERROR)


@admin.action(description=_("Approve the selected broadcasts (they launch or get scheduled)"))
def approve(modeladmin, request, queryset):
    _moderate(modeladmin, request, queryset, lambda actor, b: runs.approve(actor=actor, broadcast=b),
              gettext("%(n)d broadcast(s) approved."))


@admin.action(description=_("Reject the selected broadcasts"))
def reject(modeladmin, request, queryset):
    _moderate(modeladmin, request, queryset,
              lambda actor, b: runs.reject(actor=actor, broadcast=b, note=gettext("Rejected by moderation.")),
              gettext("%(n)d broadcast(s) rejected."))


class OnModeration(admin.SimpleListFilter):
    title = _("moderation")
    parameter_name = "moderation"

    def lookups(self, request, model_admin):
        return [("pending", _("On moderation"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(status=BroadcastStatus.ON_MODERATION)
        return queryset


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "company", "type", "status", "launch_type", "scheduled_for", "launched_at",
                    "total_contacts")
    list_filter = (OnModeration, "status", "type", "launch_type")
    search_fields = ("name", "company__name")
    list_select_related = ("company",)
    raw_id_fields = ("company", "created_by", "template", "relaunch_of", "moderated_by", "api_access")
    readonly_fields = ("status", "launched_at", "finished_at", "resolved", "resolved_through", "total_contacts",
                       "estimated_contacts", "phones_resolved", "created_at", "updated_at", "moderated_by",
                       "moderated_at")
    actions = [approve, reject]


@admin.action(description=_("Approve the selected templates (their schedules launch from now on)"))
def approve_templates(modeladmin, request, queryset):
    _moderate(modeladmin, request, queryset,
              lambda actor, t: template_services.approve_template(actor=actor, template=t),
              gettext("%(n)d template(s) approved."))


@admin.action(description=_("Reject the selected templates"))
def reject_templates(modeladmin, request, queryset):
    _moderate(modeladmin, request, queryset,
              lambda actor, t: template_services.reject_template(actor=actor, template=t,
                                                                 note=gettext("Rejected by moderation.")),
              gettext("%(n)d template(s) rejected."))


@admin.register(BroadcastTemplate)
class BroadcastTemplateAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "company", "type", "frequency", "schedule_status", "moderation", "next_launch_at",
                    "launches")
    list_filter = ("moderation", "schedule_status", "frequency", "type")
    search_fields = ("name", "company__name")
    list_select_related = ("company",)
    raw_id_fields = ("company", "created_by")
    readonly_fields = ("launches", "last_launch_at", "next_launch_at", "moderation", "created_at", "updated_at")
    actions = [approve_templates, reject_templates]

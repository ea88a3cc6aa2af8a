"""Query filters of the Broadcasts API lists (django-filter). A bad value answers 422 naming
the parameter."""

from __future__ import annotations

import django_filters

from broadcasts.models import Broadcast, BroadcastStatus, BroadcastTemplate, BroadcastType, LaunchType, ScheduleStatus
from messaging.models import DeliveryPlan, PlanState


class BroadcastFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=BroadcastStatus.choices,
        help_text="draft, moderation, rejected, scheduled, in_progress, paused, complete, aborted, failed; repeat "
                  "the parameter for several.")
    type = django_filters.ChoiceFilter(choices=BroadcastType.choices, help_text="fallback, rcs_check or chatbot.")
    launch = django_filters.ChoiceFilter(field_name="launch_type", choices=LaunchType.choices,
                                         help_text="manual, recurrent or api.")
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name (case-insensitive).")
    templateId = django_filters.NumberFilter(field_name="template_id", help_text="The runs of one template.")

    class Meta:
        model = Broadcast
        fields = ["status", "type", "launch", "name", "templateId"]


class BroadcastTemplateFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name (case-insensitive).")
    type = django_filters.ChoiceFilter(choices=BroadcastType.choices, help_text="fallback, rcs_check or chatbot.")
    schedule = django_filters.BooleanFilter(field_name="is_scheduled",
                                            help_text="true: scheduled templates; false: the others.")
    scheduleStatus = django_filters.ChoiceFilter(field_name="schedule_status", choices=ScheduleStatus.choices,
                                                 help_text="active, paused or expired.")

    class Meta:
        model = BroadcastTemplate
        fields = ["name", "type", "schedule", "scheduleStatus"]


class RecipientFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(
        choices=PlanState.choices,
        help_text="pending, active, successful, unsuccessful, canceled; repeat the parameter for several.")

    class Meta:
        model = DeliveryPlan
        fields = ["state"]

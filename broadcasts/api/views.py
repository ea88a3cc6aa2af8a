"""The Broadcasts API (scope ``broadcast``, docs/api.md §11): broadcasts — create (draft or
launch), list, get with statistics, launch, pause, resume, stop, relaunch for failed, the
recipients of a run — and broadcast templates — create, list, get, launch.

Every read starts from a ``broadcasts.selectors`` function called with the key's company, so
another company's broadcast or template is a 404. Every write is one call to
``broadcasts.services`` with the key as actor (audited); a ``BroadcastError`` about the
status ("cannot be paused…") answers 409, any other one 422 with the API's field names.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import ApiScope
from broadcasts import selectors
from broadcasts.api import examples as ex
from broadcasts.api.filters import BroadcastFilter, BroadcastTemplateFilter, RecipientFilter
from broadcasts.api.serializers import (
    BroadcastDetailOutput,
    BroadcastInput,
    BroadcastOutput,
    BroadcastTemplateInput,
    BroadcastTemplateOutput,
    LaunchInput,
    RecipientOutput,
    api_errors,
    definition_data,
    template_data,
)
from broadcasts.models import Broadcast, BroadcastTemplate, LaunchType
from broadcasts.services import runs, templates
from broadcasts.services.definition import BroadcastError, clean_definition
from messaging.models import DeliveryPlan, Source
from portal.api.schema import ErrorSerializer, error_responses
from portal.api.views import FlatErrorsMixin, TenantViewSet

SCOPE = "Needs the `broadcast` scope."
AUDITED = "Recorded in the audit log with this API key as the actor."
NOT_FOUND_NOTE = "Another company's id answers 404. "


class StateConflict(exceptions.APIException):
    """The broadcast's status does not allow the action (e.g. pausing a draft)."""

    status_code = 409
    default_code = "conflict"
    default_detail = "The broadcast's status does not allow this."


def refused(exc: BroadcastError, conflicts=("status",)) -> exceptions.APIException:
    """A service refusal as the API's answer: a refusal because of the status (of the
    broadcast; of a template's moderation) is a 409 with the service's message; anything
    else a 422 naming the fields."""
    if len(exc.errors) == 1 and next(iter(exc.errors)) in conflicts:
        return StateConflict(next(iter(exc.errors.values())))
    return serializers.ValidationError(api_errors(exc.errors))


def sender_errors(access, steps) -> dict[str, str]:
    """A key limited to some sender IDs (API Accesses → Senders) may not create or launch a
    broadcast with another one (the Omni API's rule)."""
    allowed = access.allowed_senders or []
    if not allowed:
        return {}
    return {f"steps[{index}].senderId": _("This API key may not send from “%(s)s”.") % {"s": step.get("sender")}
            for index, step in enumerate(steps or []) if step.get("sender") and step["sender"] not in allowed}


def _example(name, value, *, status=200, request=False, description=""):
    if request:
        return OpenApiExample(name, value=value, request_only=True, description=description)
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)],
                          description=description)


CONFLICT = ("The broadcast's status does not allow the action (`message` says which statuses do); or the first "
            "request with this `Idempotency-Key` is still running.")


def conflict_response(example: dict, description: str = CONFLICT) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer, description=description,
        examples=[OpenApiExample("Error 409", value=example, response_only=True, status_codes=["409"])])


class BroadcastApiViewSet(FlatErrorsMixin, TenantViewSet):
    """Base of every Broadcasts API endpoint: scope ``broadcast``, flat field errors with
    bracketed step positions (``steps[0].senderId``)."""

    required_scope = ApiScope.BROADCAST
    error_brackets = True

    def check_senders(self, steps) -> None:
        errors = sender_errors(self.request.auth, steps)
        if errors:
            raise serializers.ValidationError(api_errors(errors))

    def run_output(self, broadcast: Broadcast, *, status: int = 200) -> Response:
        """The broadcast as ``GET /broadcasts/{id}`` shows it (with its statistics)."""
        context = {**self.get_serializer_context(), "statistics": selectors.statistics(broadcast)}
        response = Response(BroadcastDetailOutput(broadcast, context=context).data, status=status)
        if status == 201:
            response["Location"] = self.request.build_absolute_uri(f"/api/v1/broadcasts/{broadcast.pk}")
        return response


CREATE_DESCRIPTION = (
    "Creates a broadcast: a **draft** (default; the chain may still be incomplete, e.g. without sender IDs or "
    "content), or with `launch: true` one that **launches** at once — or at `scheduledFor` (status `scheduled`), "
    "or goes to moderation (status `moderation`) when your company's broadcasts are moderated. Its `launch` type "
    "is `api`. Recipients are resolved in the background: `contacts` is an estimate until `recipientsResolved`. "
    "Everything is checked before anything is written; every problem is listed at once under `errors` "
    "(`name`, `recipients.phones`, `steps[0].senderId`, `steps[1].payload.text`… — step positions from 0). "
    "A key limited to some sender IDs may only use those. Use an `Idempotency-Key` to retry safely. "
    + AUDITED + " " + SCOPE)


@extend_schema_view(
    list=extend_schema(
        summary="List broadcasts",
        description="The company's broadcasts (runs), newest first, cursor-paginated, with their progress. "
                    "Filters (combined with AND): `status` (repeatable), `type`, `launch`, `name` (part of it), "
                    "`templateId`. " + SCOPE,
        responses={200: BroadcastOutput, **error_responses(422)},
        examples=[_example("A page of broadcasts", ex.BROADCAST)],
    ),
    retrieve=extend_schema(
        summary="Get a broadcast with its statistics",
        description="One broadcast with its live `statistics`: the *fallback statistics* (total contacts, not "
                    "initiated, initiated, successful, unsuccessful, with percentages) and per step of the chain "
                    "the messages sent, queued, submitted, delivered, seen, failed, skipped and late reports. The "
                    "figures come from counters the engine keeps, so a running broadcast of millions of "
                    "recipients answers as fast as a small one. " + NOT_FOUND_NOTE + SCOPE,
        responses={200: BroadcastDetailOutput, **error_responses(404)},
        examples=[_example("Complete, with fallback to step 2", ex.BROADCAST_DETAIL)],
    ),
)
@extend_schema(tags=["broadcasts"])
class BroadcastViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BroadcastApiViewSet):
    """Broadcast runs."""

    model = Broadcast
    selector = staticmethod(selectors.broadcasts_for)
    serializer_class = BroadcastOutput
    filterset_class = BroadcastFilter

    def get_serializer_class(self):
        return BroadcastOutput if self.action == "list" else BroadcastDetailOutput

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "progress": selectors.progress_many(page)}
        return self.get_paginated_response(BroadcastOutput(page, many=True, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        return self.run_output(self.get_object())

    @extend_schema(
        summary="Create a broadcast (draft or launch)",
        description=CREATE_DESCRIPTION,
        request=BroadcastInput,
        responses={201: BroadcastDetailOutput, **error_responses(422)},
        examples=[
            _example("Launch now: SMS, then Viber", ex.CREATE_LAUNCH, request=True),
            _example("Schedule (RCS with a content template, then SMS)", ex.CREATE_SCHEDULED, request=True),
            _example("Draft", ex.CREATE_DRAFT, request=True),
            _example("Launched", ex.BROADCAST_LAUNCHED, status=201),
            _example("Wrong recipients and steps", ex.ERROR_422_CREATE, status=422),
        ],
    )
    def create(self, request):
        data = self.validated_input(BroadcastInput)
        company, access = self.get_company(), request.auth
        definition = definition_data(data)
        # Every problem at once: what a launch needs when launching, what a draft needs otherwise.
        _cleaned, errors = clean_definition(company, definition, for_launch=data["launch"])
        errors.update(sender_errors(access, definition["steps"]))
        if errors:
            raise serializers.ValidationError(api_errors(errors))
        try:
            with transaction.atomic():  # a launch refused leaves no draft behind
                broadcast = runs.create_broadcast(actor=self.actor(), company=company, data=definition,
                                                  launch_type=LaunchType.API, api_access=access)
                if data["launch"]:
                    broadcast = runs.launch(actor=self.actor(), broadcast=broadcast,
                                            scheduled_for=data["scheduledFor"])
        except BroadcastError as exc:
            raise refused(exc)
        return self.run_output(broadcast, status=201)

    @extend_schema(
        summary="Launch a broadcast",
        description="Launches a `draft`, `rejected` or `scheduled` broadcast now, or schedules it for "
                    "`scheduledFor` (or sends it to moderation when your company is moderated). It must be "
                    "complete: a name, recipients who match at least one contact, and every step with an active "
                    "sender ID and content — else 422 naming what is missing. Another status answers 409. "
                    + AUDITED + " " + SCOPE,
        request=LaunchInput,
        responses={200: BroadcastDetailOutput, 409: conflict_response(ex.ERROR_409_LAUNCH),
                   **error_responses(404, 422)},
        examples=[_example("Now", {}, request=True), _example("Scheduled", ex.LAUNCH_SCHEDULED, request=True),
                  _example("In progress", ex.BROADCAST_LAUNCHED),
                  _example("Incomplete", ex.ERROR_422_LAUNCH, status=422)],
    )
    @action(detail=True, methods=["post"])
    def launch(self, request, pk=None):
        broadcast = self.get_object()
        data = self.validated_input(LaunchInput)
        self.check_senders(broadcast.steps)
        try:
            broadcast = runs.launch(actor=self.actor(), broadcast=broadcast, scheduled_for=data["scheduledFor"])
        except BroadcastError as exc:
            raise refused(exc)
        return self.run_output(broadcast)

    def _change(self, operation):
        broadcast = self.get_object()
        try:
            broadcast = operation(actor=self.actor(), broadcast=broadcast)
        except BroadcastError as exc:
            raise refused(exc)
        return self.run_output(broadcast)

    @extend_schema(
        summary="Pause a broadcast",
        description="An `in_progress` broadcast pauses: no new recipient starts, queued messages are held and "
                    "fallback steps that fall due wait; messages already with a provider carry on. Another status "
                    "answers 409. " + AUDITED + " " + SCOPE,
        request=None,
        responses={200: BroadcastDetailOutput, 409: conflict_response(ex.ERROR_409_PAUSE),
                   **error_responses(404, 422)},
        examples=[_example("Paused", ex.BROADCAST_PAUSED)],
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._change(runs.pause)

    @extend_schema(
        summary="Resume a broadcast",
        description="A `paused` broadcast goes on where it stopped (`in_progress`). Another status answers 409. "
                    + AUDITED + " " + SCOPE,
        request=None,
        responses={200: BroadcastDetailOutput, 409: conflict_response(ex.ERROR_409_RESUME),
                   **error_responses(404, 422)},
        examples=[_example("In progress again", ex.BROADCAST_LAUNCHED)],
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._change(runs.resume)

    @extend_schema(
        summary="Stop a broadcast",
        description="An `in_progress`, `paused`, `scheduled` or `moderation` broadcast stops for good "
                    "(`aborted`): recipients not started never start, queued messages are canceled (skipped, "
                    "`canceled`), messages already with a provider finish normally. Another status answers 409. "
                    + AUDITED + " " + SCOPE,
        request=None,
        responses={200: BroadcastDetailOutput, 409: conflict_response(ex.ERROR_409_STOP),
                   **error_responses(404, 422)},
        examples=[_example("Aborted", ex.BROADCAST_ABORTED)],
    )
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        return self._change(runs.stop)

    @extend_schema(
        summary="Relaunch a broadcast for its failed recipients",
        description="For a `complete` broadcast: a **new** broadcast, launched now, with the same chain, for the "
                    "recipients that were unsuccessful (every step failed or was skipped) or canceled — answered "
                    "with **201** and the new broadcast (`relaunchOf` names the first). Another status, or a "
                    "broadcast whose every recipient succeeded, answers 409. " + AUDITED + " " + SCOPE,
        request=None,
        responses={201: BroadcastDetailOutput, 409: conflict_response(ex.ERROR_409_RELAUNCH),
                   **error_responses(404, 422)},
        examples=[_example("The new run", ex.BROADCAST_RELAUNCH, status=201)],
    )
    @action(detail=True, methods=["post"], url_path="relaunch-failed")
    def relaunch_failed(self, request, pk=None):
        broadcast = self.get_object()
        self.check_senders(broadcast.steps)
        try:
            run = runs.relaunch_failed(actor=self.actor(), broadcast=broadcast, launch_type=LaunchType.API,
                                       api_access=request.auth)
        except BroadcastError as exc:
            raise refused(exc)
        return self.run_output(run, status=201)

    @extend_schema(
        summary="List a broadcast's recipients",
        description="Every recipient of the run (its delivery plan) in the order they were resolved, "
                    "cursor-paginated: the contact and phone, the state of its chain, the step it reached and "
                    "that step's message (status and error). Filter with `state` (repeatable). A recipient's "
                    "full chain is `GET /api/v1/plans/{planId}` (scope `omni-api`). " + NOT_FOUND_NOTE + SCOPE,
        parameters=[OpenApiParameter("state", OpenApiTypes.STR, many=True, explode=True,
                                     enum=["pending", "active", "successful", "unsuccessful", "canceled"],
                                     description="pending, active, successful, unsuccessful, canceled; repeat "
                                                 "for several.")],
        responses={200: RecipientOutput(many=True), **error_responses(404, 422)},
        examples=[_example("A page of recipients", ex.RECIPIENT)],
    )
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=RecipientOutput)
    def recipients(self, request, pk=None):
        broadcast = self.get_object()
        plans = (DeliveryPlan.objects.for_company(self.get_company())
                 .filter(source=Source.BROADCAST, source_id=broadcast.pk)
                 .select_related("contact", "current_message"))
        filterset = RecipientFilter(request.query_params, queryset=plans, request=request)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        self.pagination_ordering = ("id",)  # the order they were resolved in
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(RecipientOutput(page, many=True).data)


# --- templates ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List broadcast templates",
        description="The company's broadcast templates with their schedules, newest first, cursor-paginated. "
                    "Filters: `name` (part of it), `type`, `schedule` (true/false), `scheduleStatus`. " + SCOPE,
        responses={200: BroadcastTemplateOutput, **error_responses(422)},
        examples=[_example("A page of templates", ex.TEMPLATE)],
    ),
    retrieve=extend_schema(
        summary="Get a broadcast template",
        description="One template: its recipients, chain and schedule, how many times it launched, the last and "
                    "next launch. " + NOT_FOUND_NOTE + SCOPE,
        responses={200: BroadcastTemplateOutput, **error_responses(404)},
        examples=[_example("Weekly schedule", ex.TEMPLATE)],
    ),
)
@extend_schema(tags=["broadcast-templates"])
class BroadcastTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BroadcastApiViewSet):
    """Broadcast templates (reusable definitions with a schedule)."""

    model = BroadcastTemplate
    selector = staticmethod(selectors.templates_for)
    serializer_class = BroadcastTemplateOutput
    filterset_class = BroadcastTemplateFilter

    @extend_schema(
        summary="Create a broadcast template",
        description="A reusable broadcast: recipients, type, chain (as in `POST /api/v1/broadcasts`) and "
                    "optionally a schedule (`schedule: true`) — `once`, `hourly`, `daily`, `weekly` on "
                    "`weekdays`, or `monthly` on `monthDay`, at `time` in your company's time zone, between "
                    "`effectiveFrom` and `effectiveTill`. Each occurrence makes a run with launch `recurrent`; "
                    "`POST /api/v1/broadcast-templates/{id}/launch` makes one now (launch `api`). A scheduled "
                    "template must be complete enough to launch (sender IDs, content, recipients). "
                    + AUDITED + " " + SCOPE,
        request=BroadcastTemplateInput,
        responses={201: BroadcastTemplateOutput, **error_responses(422)},
        examples=[_example("Every Monday at 09:30", ex.TEMPLATE_CREATE, request=True),
                  _example("Created", ex.TEMPLATE, status=201),
                  _example("Weekly without weekdays", ex.ERROR_422_TEMPLATE, status=422)],
    )
    def create(self, request):
        data = self.validated_input(BroadcastTemplateInput)
        definition, company = template_data(data), self.get_company()
        errors = sender_errors(request.auth, definition["steps"])
        if errors:  # with the template's own problems, all at once
            try:
                templates.clean_template(company, definition, submit=data["sendToModeration"])
            except BroadcastError as exc:
                errors = {**exc.errors, **errors}
            raise serializers.ValidationError(api_errors(errors))
        try:
            template = templates.create_template(actor=self.actor(), company=company, data=definition,
                                                 submit=data["sendToModeration"])
        except BroadcastError as exc:
            raise refused(exc)
        response = self.output(template, status=201)
        response["Location"] = request.build_absolute_uri(f"/api/v1/broadcast-templates/{template.pk}")
        return response

    @extend_schema(
        summary="Launch a broadcast template now",
        description="Makes a new broadcast from the template — its recipients and chain as they are now — and "
                    "launches it at once (launch `api`), whatever its schedule; the schedule is not changed, "
                    "`launches` grows by one and `lastLaunchAt` is now. Answers **201** with the new broadcast. "
                    "The template must be complete enough to launch, else 422 naming what is missing; in a "
                    "company whose broadcasts are moderated, a template not approved yet answers 409. "
                    + AUDITED + " " + SCOPE,
        request=None,
        responses={201: BroadcastDetailOutput, 409: conflict_response(ex.ERROR_409_TEMPLATE, (
            "The company's broadcasts are moderated and the template is not approved; or the first request with "
            "this `Idempotency-Key` is still running.")),
                   **error_responses(404, 422)},
        examples=[_example("The new run", ex.TEMPLATE_RUN, status=201),
                  _example("Incomplete template", ex.ERROR_422_LAUNCH, status=422)],
    )
    @action(detail=True, methods=["post"])
    def launch(self, request, pk=None):
        template = self.get_object()
        self.check_senders(template.steps)
        try:
            run = templates.launch_manually(actor=self.actor(), template=template, launch_type=LaunchType.API,
                                            api_access=request.auth)
        except BroadcastError as exc:
            raise refused(exc, conflicts=("moderation",))
        return self.run_output(run, status=201)

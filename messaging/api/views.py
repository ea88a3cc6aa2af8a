"""The Omni API (scope ``omni-api``, spec P§21, docs/api.md §9): send one message
(``POST /messages``), send a fallback chain (``POST /omnimessages``), read messages (the EDR:
a filtered, cursor-paginated list and one message with its attempts and status history) and
delivery plans.

Every read starts from a ``messaging.api.selectors`` function called with the key's company,
so another company's message or plan is a 404. Every send is one call to
``messaging.services.send`` / ``send_plan`` with the key as the API access; its
``SendError`` (raised before anything is written) becomes a 422 with the same field names.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.response import Response

from accounts.models import ApiScope
from messaging import services
from messaging.api import examples as ex
from messaging.api import selectors
from messaging.api.filters import MessageFilter
from messaging.api.serializers import (
    MessageDetailOutput,
    MessageInput,
    MessageOutput,
    OmniAcceptedOutput,
    OmniMessageInput,
    PlanOutput,
    accepted_message_data,
    message_step,
    plan_steps,
)
from messaging.models import DeliveryPlan, Message, Source
from portal.api.schema import error_responses
from portal.api.views import FlatErrorsMixin, TenantViewSet

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
OMNI = "Needs the `omni-api` scope."


class OmniViewSet(FlatErrorsMixin, TenantViewSet):
    """Base of every Omni API endpoint: scope ``omni-api``, flat field errors."""

    required_scope = ApiScope.OMNI_API
    error_brackets = True

    def send_args(self, data: dict) -> dict:
        access = self.request.auth
        return {"company": self.get_company(), "to": data["contact"], "source": Source.API,
                "source_id": access.pk, "api_access": access, "webhook_url": data["webhook"],
                "create_contact": data["createRecipient"], "actor": self.actor()}


def _refused(exc: services.SendError) -> serializers.ValidationError:
    return serializers.ValidationError({field: [message] for field, message in exc.errors.items()})


def _example(name, value, *, status=200, request=False, description=""):
    if request:
        return OpenApiExample(name, value=value, request_only=True, description=description)
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)],
                          description=description)


SENDING = ("The request is checked completely before anything is written: an unknown or inactive sender ID, a "
           "template of another channel or company, a payload the channel cannot send, a malformed number answer "
           "422 naming the field. A recipient who opted out, has no address on the channel or has no route is not "
           "an error: the message is made with status `skipped` and `error` says why. Use an `Idempotency-Key` "
           "header to retry safely. ")
NOT_FOUND_NOTE = "Another company's id answers 404. "


@extend_schema_view(
    list=extend_schema(
        summary="List messages (EDR)",
        description="Every message of the company — sent through the API, broadcasts, conversations… and received "
                    "— newest first, cursor-paginated. Filters (combined with AND): `channel`, `status` (both "
                    "repeatable), `direction`, `source`, `contact` (the address), `planId`, and `since` / `until` "
                    "(creation time; served from the time-ordered ids, so any range is fast). " + OMNI,
        responses={200: MessageOutput, **error_responses(422)},
        examples=[_example("A page of messages", ex.MESSAGE_DELIVERED)],
    ),
    retrieve=extend_schema(
        summary="Get a message",
        description="One message with its attempts (each call to the provider) and its status history. "
                    + NOT_FOUND_NOTE + OMNI,
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The message id.")],
        responses={200: MessageDetailOutput, **error_responses(404)},
        examples=[_example("Delivered SMS", ex.MESSAGE_DETAIL)],
    ),
)
@extend_schema(tags=["omni-api"])
class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OmniViewSet):
    """Single messages: send one, list them, read one."""

    model = Message
    selector = staticmethod(selectors.messages_for)
    serializer_class = MessageOutput
    filterset_class = MessageFilter
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        if self.action == "retrieve" and not getattr(self, "swagger_fake_view", False):
            return selectors.message_details_for(self.get_company())
        return super().get_queryset()

    def get_serializer_class(self):
        return MessageDetailOutput if self.action == "retrieve" else MessageOutput

    @extend_schema(
        summary="Send a message",
        description="Sends one message on one channel (spec §21.1) to `contact`: the content is either a `payload` "
                    "or a content `template` with its `params`. Answers **202** with the message as "
                    "`GET /api/v1/messages/{id}` shows it (without attempts): usually `queued`, or `skipped` with "
                    "the reason. Its status changes go to `webhook` (or the API access's webhook). The message is "
                    "the one step of a delivery plan (`planId`) that waits for delivery (submit for Push). "
                    + SENDING + OMNI,
        request=MessageInput,
        responses={202: MessageOutput, **error_responses(422)},
        examples=[
            _example("SMS with a payload", ex.SEND_SMS, request=True),
            _example("RCS with a content template", ex.SEND_TEMPLATE, request=True),
            _example("E-mail", ex.SEND_EMAIL, request=True),
            _example("WhatsApp template (Zero-Tap OTP)", ex.SEND_WHATSAPP_TEMPLATE, request=True),
            _example("Queued", ex.MESSAGE, status=202),
            _example("Skipped: the contact opted out", ex.MESSAGE_SKIPPED, status=202),
            _example("Not an active sender ID", ex.ERROR_422_SENDER, status=422),
            _example("Both or neither of payload and template", ex.ERROR_422_ONE_OF, status=422),
            _example("Idempotency-Key used for another request", ex.ERROR_422_KEY_REUSED, status=422),
        ],
    )
    def create(self, request):
        data = self.validated_input(MessageInput)
        try:
            plan = services.send(step=message_step(data), **self.send_args(data))
        except services.SendError as exc:
            raise _refused(exc)
        data = accepted_message_data(plan)
        response = Response(data, status=202)
        response["Location"] = request.build_absolute_uri(f"/api/v1/messages/{data['id']}")
        return response


@extend_schema(tags=["omni-api"])
class OmniMessageViewSet(OmniViewSet):
    """Fallback chains through the API."""

    model = DeliveryPlan
    selector = staticmethod(selectors.plans_for)
    serializer_class = OmniAcceptedOutput

    @extend_schema(
        summary="Send a fallback chain",
        description="Sends up to 10 messages to one `contact` as a fallback chain (spec §21.2): step 1 goes out at "
                    "once; when it does not reach its `waitFor` (delivery, submit or display) within its "
                    "`timeout`, or fails, the next step is sent — until one succeeds or none is left. Answers "
                    "**202** with the plan id, its state and the messages made so far (step 1, plus the following "
                    "steps at once when step 1 was skipped). Follow it with `GET /api/v1/plans/{planId}` or the "
                    "webhook. " + SENDING + OMNI,
        request=OmniMessageInput,
        responses={202: OmniAcceptedOutput, **error_responses(422)},
        examples=[
            _example("RCS, then Viber, then SMS", ex.OMNI_REQUEST, request=True),
            _example("Step 1 queued", ex.OMNI_ACCEPTED, status=202),
            _example("Step 1 skipped (no route), step 2 queued", ex.OMNI_FIRST_SKIPPED, status=202),
            _example("Wrong steps", ex.ERROR_422_STEP, status=422),
        ],
    )
    def create(self, request):
        data = self.validated_input(OmniMessageInput)
        try:
            plan = services.send_plan(steps=plan_steps(data), **self.send_args(data))
        except services.SendError as exc:
            raise _refused(exc)
        messages = list(plan.messages.order_by("step", "id"))
        response = Response(OmniAcceptedOutput(OmniAcceptedOutput.shape(plan, messages)).data, status=202)
        response["Location"] = request.build_absolute_uri(f"/api/v1/plans/{plan.pk}")
        return response


@extend_schema_view(
    retrieve=extend_schema(
        summary="Get a delivery plan",
        description="A fallback chain (from `/omnimessages`, `/messages` or a broadcast): its steps, state, "
                    "current step, late reports and every message sent so far. " + NOT_FOUND_NOTE + OMNI,
        responses={200: PlanOutput, **error_responses(404)},
        examples=[_example("Successful on step 2", ex.PLAN)],
    ),
)
@extend_schema(tags=["omni-api"])
class PlanViewSet(mixins.RetrieveModelMixin, OmniViewSet):
    """Delivery plans, read-only."""

    model = DeliveryPlan
    selector = staticmethod(selectors.plans_for)
    serializer_class = PlanOutput

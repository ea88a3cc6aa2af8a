"""REST endpoints of the contact base (scope ``recipients``): contacts (with bulk upsert,
tags and opt-outs of one contact), tags, attributes, targets, imports.

Every read starts from a ``contacts.selectors`` function called with the key's company (so
another company's id is a 404); every write is one call to ``contacts.services`` with the
key as actor (audited). Views only parse, call and shape.
"""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404
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
from contacts import selectors, services
from contacts.api import examples as ex
from contacts.api.filters import AttributeFilter, ContactFilter, TagFilter, TargetFilter
from contacts.api.serializers import (
    AttributeDeletedOutput,
    AttributeInput,
    AttributeOutput,
    BulkInput,
    BulkInputDoc,
    BulkOutput,
    ContactInput,
    ContactOutput,
    ContactTagsInput,
    DeletedOutput,
    ImportErrorsOutput,
    ImportInput,
    ImportOutput,
    OptInOutput,
    OptOutInput,
    OptOutQuery,
    OptOutRecordOutput,
    TagDeletedOutput,
    TagInput,
    TagOutput,
    TargetCountOutput,
    TargetInput,
    TargetOutput,
)
from contacts.models import Attribute, Contact, ContactImport, ImportStatus, OptOut, OptOutSource, Tag, Target
from portal.api.errors import flatten_errors
from portal.api.schema import ErrorSerializer, error_responses
from portal.api.views import FlatErrorsMixin, TenantViewSet

# --- shared -------------------------------------------------------------------------------------


class RecipientsViewSet(FlatErrorsMixin, TenantViewSet):
    """Base of every contacts endpoint: scope ``recipients``, flat field errors."""

    required_scope = ApiScope.RECIPIENTS



def contacts_with_relations(queryset):
    """Contacts with what ``ContactOutput`` shows (two prefetch queries per page, whatever
    its size)."""
    return queryset.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("opt_outs", queryset=OptOut.objects.order_by("-created_at", "-id")),
    )


def _contacts(company):
    return contacts_with_relations(selectors.contacts_for(company))


def _tags(company):
    return selectors.tags_for(company).annotate(contact_count=Count("contact_tags"))


def _example(name, value, *, status=None, request=False):
    if request:
        return OpenApiExample(name, value=value, request_only=True)
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status or 200)])


RECIPIENTS = "Needs the `recipients` scope."
AUDITED = "Recorded in the audit log with this API key as the actor."


# --- contacts -----------------------------------------------------------------------------------

ATTRIBUTE_FILTER_PARAM = OpenApiParameter(
    "filter", type={"type": "object", "additionalProperties": {"type": "string"}}, style="deepObject",
    explode=True,
    description="Attribute filters *By value*, one per attribute key: `filter[city]=Madrid&filter[age]=34`. "
                "Text and e-mail attributes match when they contain the value (case-insensitive); numbers, "
                "dates (YYYY-MM-DD), list values and yes/no match exactly. An unknown key answers 422. For "
                "ranges, empty and non-empty values use `criteria`.",
    examples=[OpenApiExample("City and age", value={"city": "Madrid", "age": "34"})])


@extend_schema_view(
    list=extend_schema(
        summary="List contacts",
        description="Newest first, cursor-paginated. Filters (all combined with AND): `phone`, `country`, `mno`, "
                    "`tag` (repeatable), `rcs_capable`, `created_after`/`created_before`, "
                    "`updated_after`/`updated_before`, attribute filters `filter[<key>]=<value>`, and `criteria` "
                    "(a JSON list of target criteria, every mode). " + RECIPIENTS,
        parameters=[ATTRIBUTE_FILTER_PARAM],
        responses={200: ContactOutput, **error_responses(422)},
        examples=[_example("A page of contacts", ex.CONTACT)],
    ),
    retrieve=extend_schema(
        summary="Get one contact", description=RECIPIENTS,
        responses={200: ContactOutput, **error_responses(404)},
        examples=[_example("Contact", ex.CONTACT)],
    ),
)
@extend_schema(tags=["contacts"])
class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecipientsViewSet):
    """The company's contacts."""

    model = Contact
    selector = staticmethod(selectors.contacts_for)
    serializer_class = ContactOutput
    filterset_class = ContactFilter

    def get_queryset(self):
        queryset = super().get_queryset()
        # only the reads that show contacts need their tags and opt-outs
        return contacts_with_relations(queryset) if self.action in ("list", "retrieve") else queryset

    def _fresh(self, pk):
        """The contact as ``ContactOutput`` shows it, after a write."""
        return _contacts(self.get_company()).get(pk=pk)

    @extend_schema(
        summary="Create a contact",
        description="The phone number is required and unique in the company (422 if it exists). Attribute "
                    "values are checked against their types; missing tags are created. " + AUDITED + " "
                    + RECIPIENTS,
        request=ContactInput,
        responses={201: ContactOutput, **error_responses(422)},
        examples=[_example("New contact", ex.CONTACT_CREATE, request=True),
                  _example("Created", ex.CONTACT, status=201),
                  _example("Wrong attribute values", ex.CONTACT_422, status=422),
                  _example("Invalid phone number", ex.PHONE_422, status=422)],
    )
    def create(self, request):
        data = self.validated_input(ContactInput)
        contact = services.create_contact(
            actor=self.actor(), company=self.get_company(), phone=data["phone"], attributes=data.get("attributes"),
            tags=data.get("tags", ()), wechat_id=data.get("wechat_id", ""))
        return self.output(self._fresh(contact.pk), status=201)

    @extend_schema(
        summary="Replace a contact",
        description="Full update: `phone` is required; the given `attributes` replace all values, `tags` "
                    "replaces the tags (none given: no tags), `wechat_id` is cleared when not given. "
                    + AUDITED + " " + RECIPIENTS,
        request=ContactInput,
        responses={200: ContactOutput, **error_responses(404, 422)},
        examples=[_example("Replace", ex.CONTACT_CREATE, request=True), _example("Replaced", ex.CONTACT),
                  _example("Wrong attribute values", ex.CONTACT_422, status=422)],
    )
    def update(self, request, pk=None):
        contact = self.get_object()
        data = self.validated_input(ContactInput)
        services.update_contact(
            actor=self.actor(), contact=contact, phone=data["phone"], attributes=data.get("attributes", {}),
            tags=data.get("tags", []), wechat_id=data.get("wechat_id", ""), replace_attributes=True)
        return self.output(self._fresh(contact.pk))

    @extend_schema(
        summary="Change a contact",
        description="Partial update: only the fields given change. `attributes` sets the given keys (null or \"\" "
                    "clears one) and keeps the others; `tags`, when given, replaces the tags. "
                    + AUDITED + " " + RECIPIENTS,
        request=ContactInput,
        responses={200: ContactOutput, **error_responses(404, 422)},
        examples=[_example("Set the city, clear the age, set the tags", ex.CONTACT_PATCH, request=True),
                  _example("Changed", ex.CONTACT),
                  _example("Wrong attribute values", ex.CONTACT_422, status=422)],
    )
    def partial_update(self, request, pk=None):
        contact = self.get_object()
        data = self.validated_input(ContactInput, partial=True)
        services.update_contact(
            actor=self.actor(), contact=contact, phone=data.get("phone"), attributes=data.get("attributes"),
            tags=data.get("tags"), wechat_id=data.get("wechat_id"))
        return self.output(self._fresh(contact.pk))

    @extend_schema(
        summary="Delete a contact",
        description="Deletes the contact with its tags links and opt-outs. " + AUDITED + " " + RECIPIENTS,
        request=None,
        responses={200: DeletedOutput, **error_responses(404)},
        examples=[_example("Deleted", ex.DELETED)],
    )
    def destroy(self, request, pk=None):
        contact = self.get_object()
        contact_id = contact.pk
        services.delete_contact(actor=self.actor(), contact=contact)
        return Response(DeletedOutput({"id": contact_id, "deleted": True}).data)

    @extend_schema(
        summary="Create or update up to 1,000 contacts",
        description=f"Upsert keyed by phone number, at most {services.MAX_BULK_ROWS} contacts per call (more "
                    "answers 422). Each row is checked on its own and answered in `results`, in order: `created`, "
                    "`updated`, `skipped` (an existing number with `duplicates=skip`) or `error` with its field "
                    "errors; a bad row never fails the others. A number given twice in one call is applied once: "
                    "the later row is an error \"Duplicate of row N\". Retrying a call is safe: nothing is created "
                    "twice. The whole call is one transaction and a handful of queries. " + AUDITED + " "
                    + RECIPIENTS,
        request=BulkInputDoc,
        responses={200: BulkOutput, **error_responses(422)},
        examples=[_example("Four rows, enrich", ex.BULK_REQUEST, request=True),
                  _example("Per-row results", ex.BULK_RESPONSE)],
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        data = self.validated_input(BulkInput)
        result = services.bulk_upsert_contacts(
            actor=self.actor(), company=self.get_company(), rows=data["contacts"], duplicates=data["duplicates"],
            tags=data.get("tags", []))
        return Response(BulkOutput(result).data)

    @extend_schema(
        summary="Add tags to a contact",
        description="Adds the named tags (missing tags are created); tags the contact already has stay. Answers "
                    "the contact. " + AUDITED + " " + RECIPIENTS,
        request=ContactTagsInput,
        responses={200: ContactOutput, **error_responses(404, 422)},
        examples=[_example("Add two tags", {"tags": ["vip", "newsletter"]}, request=True),
                  _example("The contact", ex.CONTACT)],
    )
    @action(detail=True, methods=["post"], url_path="tags")
    def add_tags(self, request, pk=None):
        contact = self.get_object()
        data = self.validated_input(ContactTagsInput)
        services.tag_contact(actor=self.actor(), contact=contact, names=data["tags"])
        return self.output(self._fresh(contact.pk))

    @extend_schema(
        summary="Remove a tag from a contact",
        description="`tag` is the tag's id or its name (case-insensitive); a number is taken as an id when the "
                    "company has a tag with that id. 404 when there is no such tag; removing a tag the contact "
                    "does not have changes nothing. Answers the contact. " + AUDITED + " " + RECIPIENTS,
        parameters=[OpenApiParameter("tag", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     description="Tag id or name.")],
        request=None,
        responses={200: ContactOutput, **error_responses(404)},
        examples=[_example("The contact", ex.CONTACT)],
    )
    @action(detail=True, methods=["delete"], url_path=r"tags/(?P<tag>[^/]+)")
    def remove_tag(self, request, pk=None, tag=None):
        contact = self.get_object()
        tags = selectors.tags_for(self.get_company())
        found = tags.filter(pk=int(tag)).first() if tag.isdigit() else None
        found = found or tags.filter(name__iexact=tag.strip()).first()
        if found is None:
            raise Http404
        services.untag_contact(actor=self.actor(), contact=contact, tag=found)
        return self.output(self._fresh(contact.pk))


    # --- opt-outs of one contact (rules in contacts.services.optouts) ---

    @extend_schema(
        methods=["GET"], summary="List a contact's opt-outs",
        description="The channels (and sender IDs) the contact receives nothing from, newest first, "
                    "cursor-paginated. An empty `sender` blocks the whole channel. " + RECIPIENTS,
        responses={200: OptOutRecordOutput(many=True), **error_responses(404)},
        examples=[_example("Opt-outs", ex.OPT_OUT)],
    )
    @extend_schema(
        methods=["POST"], summary="Opt a contact out",
        description="Blocks `channel` from `sender` (empty: the whole channel) for the contact; source `api`. "
                    "Idempotent: when the contact is already opted out of exactly that scope the existing record "
                    "is answered with 200 (201 when created). " + AUDITED + " " + RECIPIENTS,
        request=OptOutInput,
        responses={201: OptOutRecordOutput, 200: OptOutRecordOutput, **error_responses(404, 422)},
        examples=[_example("Opt out of SMS from ACME", {"channel": 1, "sender": "ACME"}, request=True),
                  _example("Created", ex.OPT_OUT_API, status=201),
                  _example("Already opted out", ex.OPT_OUT_API, status=200)],
    )
    @extend_schema(
        methods=["DELETE"], summary="Opt a contact back in",
        description="Removes the contact's opt-out of `channel` / `sender` (query parameters; no `sender`: the "
                    "whole-channel opt-out). Opt-outs of other senders stay. Answers how many were removed (0 when "
                    "there was none). " + AUDITED + " " + RECIPIENTS,
        parameters=[OptOutQuery],
        request=None,
        responses={200: OptInOutput, **error_responses(404, 422)},
        examples=[_example("Removed", {"channel": 1, "sender": "ACME", "removed": 1})],
    )
    @action(detail=True, methods=["get", "post", "delete"], url_path="opt-outs",
            serializer_class=OptOutRecordOutput, filter_backends=[])
    def opt_outs(self, request, pk=None):
        contact = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(services.optouts_of(contact))
            return self.get_paginated_response(OptOutRecordOutput(page, many=True).data)
        if request.method == "POST":
            data = self.validated_input(OptOutInput)
            record = services.opt_out(self.actor(), contact, data["channel"], data["sender"],
                                      source=OptOutSource.API)
            return self.output(services.optouts_of(contact).get(pk=record.pk), status=201 if record.is_new else 200)
        data = self.validated_input(OptOutQuery, data=request.query_params)
        removed = services.opt_in(self.actor(), contact, data["channel"], data["sender"])
        return Response(OptInOutput({"channel": data["channel"], "sender": data["sender"].strip(),
                                     "removed": removed}).data)


# --- tags -----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List tags", description="Newest first, cursor-paginated, with the number of contacts having each "
                                         "tag. Filter: `name` (part of it). " + RECIPIENTS,
        responses={200: TagOutput, **error_responses(422)},
        examples=[_example("A page of tags", ex.TAG)],
    ),
    retrieve=extend_schema(
        summary="Get one tag", description=RECIPIENTS,
        responses={200: TagOutput, **error_responses(404)}, examples=[_example("Tag", ex.TAG)],
    ),
)
@extend_schema(tags=["tags"])
class TagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecipientsViewSet):
    """Static tags of the company's contacts."""

    model = Tag
    selector = staticmethod(_tags)
    serializer_class = TagOutput
    filterset_class = TagFilter

    @extend_schema(
        summary="Create a tag", description="The name is unique in the company (case-insensitive). " + AUDITED
                                            + " " + RECIPIENTS,
        request=TagInput, responses={201: TagOutput, **error_responses(422)},
        examples=[_example("New tag", {"name": "vip"}, request=True),
                  _example("Created", {**ex.TAG, "contact_count": 0}, status=201)],
    )
    def create(self, request):
        data = self.validated_input(TagInput)
        tag = services.create_tag(actor=self.actor(), company=self.get_company(), name=data["name"])
        return self.output(self.get_queryset().get(pk=tag.pk), status=201)

    def _rename(self):
        tag = self.get_object()
        data = self.validated_input(TagInput)
        services.rename_tag(actor=self.actor(), tag=tag, name=data["name"])
        return self.output(self.get_queryset().get(pk=tag.pk))

    @extend_schema(
        summary="Rename a tag", description="Contacts keep the tag under its new name. " + AUDITED + " "
                                            + RECIPIENTS,
        request=TagInput, responses={200: TagOutput, **error_responses(404, 422)},
        examples=[_example("New name", {"name": "gold"}, request=True), _example("Renamed", ex.TAG)],
    )
    def update(self, request, pk=None):
        return self._rename()

    @extend_schema(
        summary="Rename a tag (partial)", description="Same as PUT: the body is the new name. " + AUDITED + " "
                                                      + RECIPIENTS,
        request=TagInput, responses={200: TagOutput, **error_responses(404, 422)},
        examples=[_example("New name", {"name": "gold"}, request=True), _example("Renamed", ex.TAG)],
    )
    def partial_update(self, request, pk=None):
        return self._rename()

    @extend_schema(
        summary="Delete a tag", description="The tag disappears from every contact (the contacts stay). "
                                            + AUDITED + " " + RECIPIENTS,
        request=None, responses={200: TagDeletedOutput, **error_responses(404)},
        examples=[_example("Deleted", ex.TAG_DELETED)],
    )
    def destroy(self, request, pk=None):
        tag = self.get_object()
        tag_id = tag.pk
        untagged = services.delete_tag(actor=self.actor(), tag=tag)
        return Response(TagDeletedOutput({"id": tag_id, "deleted": True, "contacts_untagged": untagged}).data)


# --- attributes -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List attributes",
        description="In the portal's order (position). Filter: `type`. The phone number is not an attribute: it "
                    "is the contact's `phone`. " + RECIPIENTS,
        responses={200: AttributeOutput, **error_responses(422)},
        examples=[_example("A page of attributes", ex.ATTRIBUTE)],
    ),
    retrieve=extend_schema(
        summary="Get one attribute", description=RECIPIENTS,
        responses={200: AttributeOutput, **error_responses(404)}, examples=[_example("Attribute", ex.ATTRIBUTE)],
    ),
)
@extend_schema(tags=["attributes"])
class AttributeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecipientsViewSet):
    """Typed contact attributes, addressed by key."""

    model = Attribute
    selector = staticmethod(selectors.attributes_for)
    serializer_class = AttributeOutput
    filterset_class = AttributeFilter
    lookup_field = "key"
    lookup_value_regex = r"[a-z][a-z0-9_]{0,63}"
    pagination_ordering = ("position", "id")

    @extend_schema(
        summary="Create an attribute",
        description="The key is derived from the name (lower case, `_` for spaces) and never changes. A list "
                    "attribute needs its allowed `values`. " + AUDITED + " " + RECIPIENTS,
        request=AttributeInput, responses={201: AttributeOutput, **error_responses(422)},
        examples=[_example("New list attribute", ex.ATTRIBUTE_CREATE, request=True),
                  _example("Created", ex.ATTRIBUTE, status=201)],
    )
    def create(self, request):
        data = self.validated_input(AttributeInput)
        attribute = services.create_attribute(
            actor=self.actor(), company=self.get_company(), name=data["name"], type=data["type"],
            values=data.get("values", []), show_in_profile=data["show_in_profile"])
        return self.output(attribute, status=201)

    def _change(self, partial: bool):
        attribute = self.get_object()
        data = self.validated_input(AttributeInput, partial=partial)
        services.update_attribute(
            actor=self.actor(), attribute=attribute, name=data.get("name", attribute.name),
            type=data.get("type", attribute.type), values=data.get("values", attribute.values),
            show_in_profile=data.get("show_in_profile", attribute.show_in_profile))
        return self.output(attribute)

    @extend_schema(
        summary="Replace an attribute",
        description="Name, type, values and the profile flag (not given: false). The type cannot change while "
                    "contacts have values for the attribute; list values in use cannot be removed. " + AUDITED
                    + " " + RECIPIENTS,
        request=AttributeInput, responses={200: AttributeOutput, **error_responses(404, 422)},
        examples=[_example("Replace", ex.ATTRIBUTE_CREATE, request=True), _example("Changed", ex.ATTRIBUTE)],
    )
    def update(self, request, key=None):
        return self._change(partial=False)

    @extend_schema(
        summary="Change an attribute",
        description="Only the fields given change (rename, allowed values, profile flag, type). The type cannot "
                    "change while contacts have values for the attribute; list values in use cannot be removed. "
                    + AUDITED + " " + RECIPIENTS,
        request=AttributeInput, responses={200: AttributeOutput, **error_responses(404, 422)},
        examples=[_example("Add an allowed value", {"values": ["bronze", "silver", "gold", "platinum"]},
                           request=True),
                  _example("Changed", ex.ATTRIBUTE)],
    )
    def partial_update(self, request, key=None):
        return self._change(partial=True)

    @extend_schema(
        summary="Delete an attribute",
        description="Deletes the attribute and its value on every contact. " + AUDITED + " " + RECIPIENTS,
        request=None, responses={200: AttributeDeletedOutput, **error_responses(404)},
        examples=[_example("Deleted", ex.ATTRIBUTE_DELETED)],
    )
    def destroy(self, request, key=None):
        attribute = self.get_object()
        attr_key = attribute.key
        cleared = services.delete_attribute(actor=self.actor(), attribute=attribute)
        return Response(AttributeDeletedOutput({"key": attr_key, "deleted": True, "values_cleared": cleared}).data)


# --- targets ----------------------------------------------------------------------------------------


def _target_contacts(target, company):
    target.company = company  # the key's company, already loaded: saves a query
    try:
        return selectors.target_contacts(target)
    except selectors.CriteriaError as exc:  # e.g. an attribute it uses was deleted since
        raise serializers.ValidationError({"filters": [str(exc)]})


@extend_schema_view(
    list=extend_schema(
        summary="List targets", description="Newest first, cursor-paginated. Filter: `name` (part of it). The live "
                                            "count of each target is at /targets/{id}/count. " + RECIPIENTS,
        responses={200: TargetOutput, **error_responses(422)},
        examples=[_example("A page of targets", ex.TARGET)],
    ),
    retrieve=extend_schema(
        summary="Get one target", description=RECIPIENTS,
        responses={200: TargetOutput, **error_responses(404)}, examples=[_example("Target", ex.TARGET)],
    ),
)
@extend_schema(tags=["targets"])
class TargetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecipientsViewSet):
    """Targets: saved dynamic filters (criteria combined with AND, evaluated on use)."""

    model = Target
    selector = staticmethod(selectors.targets_for)
    serializer_class = TargetOutput
    filterset_class = TargetFilter

    @extend_schema(
        summary="Create a target",
        description="`filters`: criteria combined with AND, each `{field, mode, value | from/to}` with field "
                    "`phone`, `country`, `mno`, `tag` or `attribute:<key>` and mode `value`, `range` (numbers "
                    "and dates), `empty` or `nonempty`. " + AUDITED + " " + RECIPIENTS,
        request=TargetInput, responses={201: TargetOutput, **error_responses(422)},
        examples=[_example("New target", ex.TARGET_CREATE, request=True),
                  _example("Created", {**ex.TARGET, "launches": 0}, status=201)],
    )
    def create(self, request):
        data = self.validated_input(TargetInput)
        target = services.create_target(actor=self.actor(), company=self.get_company(), name=data["name"],
                                        filters=data["filters"])
        return self.output(target, status=201)

    def _change(self, partial: bool):
        target = self.get_object()
        data = self.validated_input(TargetInput, partial=partial)
        services.update_target(actor=self.actor(), target=target, name=data.get("name", target.name),
                               filters=data.get("filters", target.filters))
        return self.output(target)

    @extend_schema(
        summary="Replace a target", description="Name and filters. " + AUDITED + " " + RECIPIENTS,
        request=TargetInput, responses={200: TargetOutput, **error_responses(404, 422)},
        examples=[_example("Replace", ex.TARGET_CREATE, request=True), _example("Changed", ex.TARGET)],
    )
    def update(self, request, pk=None):
        return self._change(partial=False)

    @extend_schema(
        summary="Change a target", description="Only the fields given change. " + AUDITED + " " + RECIPIENTS,
        request=TargetInput, responses={200: TargetOutput, **error_responses(404, 422)},
        examples=[_example("Rename", {"name": "Madrid newsletter"}, request=True), _example("Changed", ex.TARGET)],
    )
    def partial_update(self, request, pk=None):
        return self._change(partial=True)

    @extend_schema(
        summary="Delete a target", description="The contacts stay. " + AUDITED + " " + RECIPIENTS,
        request=None, responses={200: DeletedOutput, **error_responses(404)},
        examples=[_example("Deleted", {"id": 12, "deleted": True})],
    )
    def destroy(self, request, pk=None):
        target = self.get_object()
        target_id = target.pk
        services.delete_target(actor=self.actor(), target=target)
        return Response(DeletedOutput({"id": target_id, "deleted": True}).data)

    @extend_schema(
        summary="Count a target's contacts",
        description="The live number of contacts matching the target's criteria now (one COUNT). 422 when a "
                    "criterion no longer works (e.g. its attribute was deleted). " + RECIPIENTS,
        responses={200: TargetCountOutput, **error_responses(404, 422)},
        examples=[_example("Count", ex.TARGET_COUNT)],
    )
    @action(detail=True, methods=["get"], url_path="count", filter_backends=[], pagination_class=None)
    def count(self, request, pk=None):
        target = self.get_object()
        return Response(TargetCountOutput({"id": target.pk, "count": _target_contacts(target, self.get_company()).count()}).data)

    @extend_schema(
        summary="List a target's contacts",
        description="The contacts matching the target now, newest first, cursor-paginated (same shape as "
                    "/contacts). " + RECIPIENTS,
        responses={200: ContactOutput(many=True), **error_responses(404, 422)},
        examples=[_example("A page of contacts", ex.CONTACT)],
    )
    @action(detail=True, methods=["get"], url_path="contacts", filter_backends=[], serializer_class=ContactOutput)
    def contacts(self, request, pk=None):
        target = self.get_object()
        page = self.paginate_queryset(contacts_with_relations(_target_contacts(target, self.get_company())))
        return self.get_paginated_response(ContactOutput(page, many=True, context=self.get_serializer_context()).data)


# --- imports ------------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERROR_ROWS_DEFAULT, ERROR_ROWS_MAX = 100, 1000


class ReportNotReady(exceptions.APIException):
    status_code = 409
    default_detail = "The import has not finished: its report of rejected rows is made when it is done."
    default_code = "conflict"


def _resolve_mapping(imp, mapping: dict) -> dict:
    """The client's ``{column: target}`` (header text, letter or 0-based index) as the
    service's ``{index: target}``; ``{"mapping": [...]}`` errors name unknown columns."""
    columns = services.columns_for(imp)
    by_letter = {c.letter: c.index for c in columns}
    by_header: dict[str, int] = {}
    for c in columns:
        if c.header:
            by_header.setdefault(c.header.strip().casefold(), c.index)
    resolved, errors = {}, []
    for key, target in mapping.items():
        if key.isdigit():
            index = int(key)
        elif key in by_letter:
            index = by_letter[key]
        elif key.casefold() in by_header:
            index = by_header[key.casefold()]
        else:
            errors.append(f"The file has no column “{key}”: give a header, a letter (A, B, …) or a 0-based index.")
            continue
        resolved[str(index)] = target
    if errors:
        raise serializers.ValidationError({"mapping": errors})
    return resolved


IMPORT_STARTED = ("The file is checked (by content: type, size, rows, zip bombs), mapped and queued; the import runs "
                  "in the background. Poll `GET /imports/{id}` for its progress. A file-level problem answers 422 "
                  "with `errors.file`; a bad row never stops the import (it is counted and reported). When the "
                  "mapping or the first row is wrong after the upload, the 422 names the import left in the "
                  "*uploaded* state (it can be finished in the portal's import wizard). ")


@extend_schema_view(
    list=extend_schema(
        summary="List imports", description="The company's file imports, newest first, cursor-paginated. "
                                            + RECIPIENTS,
        responses={200: ImportOutput, **error_responses()},
        examples=[_example("A page of imports", ex.IMPORT_DONE)],
    ),
)
@extend_schema(tags=["imports"])
class ImportViewSet(mixins.ListModelMixin, RecipientsViewSet):
    """File imports of contacts (the import wizard's engine, through the API)."""

    model = ContactImport
    selector = staticmethod(lambda company: services.imports_for(company).select_related("tag"))
    serializer_class = ImportOutput
    filter_backends: list = []

    def perform_content_negotiation(self, request, force=False):
        # /errors answers XLSX or JSON by itself; errors stay JSON whatever the Accept header.
        return super().perform_content_negotiation(request, force=force or self.action == "errors")

    @extend_schema(
        summary="Import a file of contacts",
        description=IMPORT_STARTED + AUDITED + " " + RECIPIENTS,
        request={"multipart/form-data": ImportInput},
        responses={201: ImportOutput, **error_responses(422)},
        examples=[_example("Queued", ex.IMPORT_QUEUED, status=201)],
    )
    def create(self, request):
        data = self.validated_input(ImportInput)
        actor, company = self.actor(), self.get_company()
        with transaction.atomic():
            imp = services.create_import(actor=actor, company=company, file=data["file"])
        try:
            with transaction.atomic():
                if data.get("first_row"):
                    services.set_first_row(actor=actor, imp=imp, first_row=data["first_row"])
                if "mapping" in data:
                    mapping = _resolve_mapping(imp, data["mapping"])
                else:
                    columns, _preset = services.suggest_mapping(imp)
                    mapping = {str(c.index): c.target for c in columns if c.target}
                services.set_mapping(actor=actor, imp=imp, mapping=mapping)
                services.set_duplicates(actor=actor, imp=imp, mode=data["duplicates"], tag=data.get("tag", ""))
                imp = services.start_import(actor=actor, imp=imp)
        except (serializers.ValidationError, ValidationError) as exc:
            detail = exc.detail if isinstance(exc, serializers.ValidationError) else \
                serializers.as_serializer_error(exc)
            errors = flatten_errors(detail)
            errors["import"] = [f"The file was kept as import {imp.pk}, not started; finish it in the portal or "
                                f"upload it again."]
            raise serializers.ValidationError(errors)
        imp.refresh_from_db()
        response = self.output(imp, status=201)
        response["Location"] = request.build_absolute_uri(f"/api/v1/imports/{imp.pk}")
        return response

    @extend_schema(
        summary="Get an import's progress",
        description="Status, progress and counts; poll until `finished`. A run whose worker died is resumed from "
                    "its last checkpoint by this call. " + RECIPIENTS,
        responses={200: ImportOutput, **error_responses(404)},
        examples=[_example("Running", ex.IMPORT_RUNNING), _example("Done", ex.IMPORT_DONE)],
    )
    def retrieve(self, request, pk=None):
        imp = self.get_object()
        services.resume_if_stalled(imp)
        return self.output(imp)

    @extend_schema(
        summary="Get an import's rejected rows",
        description="By default the XLSX report of the rejected rows (the file's columns, the reason and the row "
                    "number), once the import is done: 409 before that, 404 when it rejected no row. With "
                    "`Accept: application/json`: the first `limit` rejected rows as JSON (also while it runs). "
                    + RECIPIENTS,
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT, description=(
            f"JSON only: how many rows (default {ERROR_ROWS_DEFAULT}, at most {ERROR_ROWS_MAX})."))],
        responses={(200, "application/json"): ImportErrorsOutput,
                   (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The XLSX report."),
                   409: OpenApiResponse(ErrorSerializer, description="The import has not finished.", examples=[
                       OpenApiExample("Error 409", value={"status": "ERROR", "code": 409,
                                                          "message": ReportNotReady.default_detail},
                                      response_only=True, status_codes=["409"])]),
                   **error_responses(404, 422)},
        examples=[OpenApiExample("Rejected rows (JSON)", value=ex.IMPORT_ERRORS, response_only=True,
                                 status_codes=["200"], media_type="application/json")],
    )
    @action(detail=True, methods=["get"], url_path="errors")
    def errors(self, request, pk=None):
        imp = self.get_object()
        accept = request.META.get("HTTP_ACCEPT", "")
        if "application/json" in accept and XLSX not in accept:
            limit = self.validated_input(_LimitInput, data=request.query_params)["limit"]
            rows = [{"row": n, "cells": cells, "error": why} for n, cells, why in services.import_errors(imp, limit)]
            return Response(ImportErrorsOutput({"id": imp.pk, "errors": imp.error_count, "rows": rows}).data)
        if imp.status == ImportStatus.FAILED:
            raise ReportNotReady(f"The import failed ({imp.error_message}); it has no report of rejected rows.")
        if imp.status != ImportStatus.DONE:
            raise ReportNotReady()
        report = services.error_report(imp)
        if report is None:
            raise exceptions.NotFound("This import rejected no rows.")
        return FileResponse(report.open("rb"), as_attachment=True, filename=os.path.basename(report.name),
                            content_type=XLSX)


class _LimitInput(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=ERROR_ROWS_MAX, default=ERROR_ROWS_DEFAULT,
                                     required=False)

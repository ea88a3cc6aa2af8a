"""Input and output serializers of the contacts API (scope ``recipients``).

Output serializers only shape rows the views fetched (tags and opt-outs come prefetched,
tag counts annotated: no query per row). Input serializers check shapes and types and
reject unknown fields; every rule (phone numbers, attribute types, uniqueness, criteria)
is a call into ``contacts.services``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts import services
from contacts.models import (
    Attribute,
    AttributeType,
    Contact,
    ContactImport,
    DuplicateMode,
    ImportStatus,
    OptOut,
    OptOutSource,
    Tag,
    Target,
)
from contacts.phones import InvalidPhone, normalize
from portal.channel_types import Channel

UNKNOWN_FIELD = "Unknown field."


class StrictInput(serializers.Serializer):
    """An input serializer that answers an unknown body field with an error instead of
    ignoring it (a typo such as ``{"name": …}`` for a contact must not lose data silently)."""

    unknown_field_message = UNKNOWN_FIELD

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            # form-encoded nested values arrive as ``attributes.age`` / ``tags[0]``: their base name counts
            unknown = {str(key): [self.unknown_field_message] for key in data
                       if re.split(r"[.\[]", str(key), maxsplit=1)[0] not in self.fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown})
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def _company(serializer):
    return serializer.context["request"].auth.company


# --- contacts -------------------------------------------------------------------------------------


class OptOutOutput(serializers.ModelSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices,
                                      help_text="Channel id: 1 SMS, 2 RCS, 3 Viber, 4 WhatsApp, 5 WeChat, 6 Email, "
                                                "7 Telegram, 8 Push, 9 TTS, 10 Mobile Push.")
    sender = serializers.CharField(help_text="Sender ID; empty = the whole channel.")
    source = serializers.ChoiceField(choices=OptOutSource.choices,
                                     help_text="How the opt-out was made: user, word (an MO opt-out word), api, "
                                               "import, chatbot.")

    class Meta:
        model = OptOut
        fields = ["channel", "sender", "created_at", "source"]
        read_only_fields = fields
        ref_name = "ContactOptOut"


class ContactOutput(serializers.ModelSerializer):
    phone = serializers.CharField(help_text="E.164, e.g. +34612345678.")
    country = serializers.CharField(help_text="ISO 3166 country of the number (derived from it).")
    mno = serializers.CharField(help_text="Mobile operator the number range belongs to (derived; indicative).")
    attributes = serializers.DictField(
        help_text="Attribute values by attribute key, typed: numbers as numbers, dates as YYYY-MM-DD, yes/no as "
                  "booleans, the rest as strings. Keys without a value are absent.")
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name", help_text="Tag names.")
    opt_outs = OptOutOutput(many=True, read_only=True)
    rcs_capable = serializers.BooleanField(allow_null=True, help_text="null = never checked.")

    class Meta:
        model = Contact
        fields = ["id", "phone", "country", "mno", "attributes", "tags", "opt_outs", "wechat_id", "rcs_capable",
                  "rcs_checked_at", "created_at", "updated_at"]
        read_only_fields = fields
        ref_name = "Contact"


class ContactInput(StrictInput):
    phone = serializers.CharField(
        max_length=40,
        help_text="The phone number: international (+34612345678 or 0034…) or national in the company's default "
                  "region. Stored in E.164; the duplicate key of the company.")
    attributes = serializers.DictField(
        required=False,
        help_text="Attribute values by attribute key (see /attributes). Each value is checked against the "
                  "attribute's type; an unknown key or a wrong value answers 422 naming the attribute "
                  "(`attributes.<key>`). An empty string or null clears a value.")
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                 help_text="Tag names; missing tags are created. Replaces the contact's tags.")
    wechat_id = serializers.CharField(max_length=64, required=False, allow_blank=True, help_text="WeChat ID.")

    class Meta:
        ref_name = "ContactWrite"

    def validate_phone(self, value):
        try:  # the service normalises again; checking here reports every field error at once
            normalize(value, _company(self).default_region)
        except InvalidPhone as exc:
            raise serializers.ValidationError(str(exc))
        return value

    def validate_attributes(self, value):
        _values, _cleared, errors = services.clean_attribute_values(_company(self), value)
        if errors:
            raise serializers.ValidationError({key: [message] for key, message in errors.items()})
        return value


class ContactTagsInput(StrictInput):
    tags = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False,
                                 help_text="Tag names to add; missing tags are created. Tags the contact already "
                                           "has stay.")

    class Meta:
        ref_name = "ContactTagsAdd"


class BulkInput(StrictInput):
    """What the view validates: the rows themselves are checked one by one by the service
    (a bad row never fails the call)."""

    contacts = serializers.ListField(
        allow_empty=False, max_length=services.MAX_BULK_ROWS,
        error_messages={"max_length": f"At most {services.MAX_BULK_ROWS} contacts per call; split the list."})
    duplicates = serializers.ChoiceField(choices=DuplicateMode.choices, default=DuplicateMode.SKIP)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False)


class BulkRowInput(serializers.Serializer):
    phone = serializers.CharField(help_text="The key: an existing contact with this number is a duplicate.")
    attributes = serializers.DictField(required=False, help_text="Attribute values by key, as for one contact.")
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                 help_text="Tag names added to this contact.")
    wechat_id = serializers.CharField(required=False, allow_blank=True, max_length=64)

    class Meta:
        ref_name = "BulkContactRow"


class BulkInputDoc(serializers.Serializer):
    """The documented shape of the bulk body (rows typed for the schema)."""

    contacts = BulkRowInput(many=True, help_text=f"1 to {services.MAX_BULK_ROWS} contacts; the phone is the key.")
    duplicates = serializers.ChoiceField(
        choices=DuplicateMode.choices, default=DuplicateMode.SKIP,
        help_text="For numbers that already exist: `skip` leaves the contact as it is; `override`: the row's "
                  "attribute values replace the stored ones (null or \"\" clears one; attributes the row does not "
                  "give are kept); `enrich`: only attributes without a value are filled. With override and enrich "
                  "the tags are added.")
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                 help_text="Tag names added to every created or updated contact.")

    class Meta:
        ref_name = "BulkContactsWrite"


class BulkRowOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="0-based position of the row in `contacts`.")
    status = serializers.ChoiceField(choices=[(s, s) for s in services.BulkRowStatus.ALL],
                                     help_text="created, updated, skipped (existing number with duplicates=skip) "
                                               "or error.")
    id = serializers.IntegerField(allow_null=True, help_text="The contact's id; null for an error.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), allow_null=True,
                                   help_text="For an error: field → messages (`phone`, `attributes.<key>`, `tags`, "
                                             "…); null otherwise.")

    class Meta:
        ref_name = "BulkContactResult"


class BulkOutput(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Rows with status error.")
    results = BulkRowOutput(many=True, help_text="One result per row, in the order of the request.")

    class Meta:
        ref_name = "BulkContactsResult"

    def to_representation(self, instance):
        counts = instance.counts
        return super().to_representation({
            "created": counts["created"], "updated": counts["updated"], "skipped": counts["skipped"],
            "failed": counts["error"], "results": instance.results})


class DeletedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    deleted = serializers.BooleanField()

    class Meta:
        ref_name = "Deleted"


# --- opt-outs of one contact ----------------------------------------------------------------------

CHANNEL_HELP = ("Channel id: 1 SMS, 2 RCS, 3 Viber, 4 WhatsApp, 5 WeChat, 6 Email, 7 Telegram, 8 Push, 9 TTS, "
                "10 Mobile Push.")


class OptOutRecordOutput(serializers.ModelSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices, help_text=CHANNEL_HELP)
    sender = serializers.CharField(help_text="Sender ID; empty = the whole channel.")
    source = serializers.ChoiceField(choices=OptOutSource.choices,
                                     help_text="user (a portal user), word (an MO opt-out word), api, import, "
                                               "chatbot.")
    word = serializers.SlugRelatedField(slug_field="word", read_only=True, allow_null=True,
                                        help_text="The opt-out word that made it (source word), if it still exists.")
    user = serializers.SlugRelatedField(slug_field="login", read_only=True, allow_null=True,
                                        help_text="Login of the portal user who made it (source user).")

    class Meta:
        model = OptOut
        fields = ["id", "channel", "sender", "source", "word", "user", "created_at"]
        read_only_fields = fields
        ref_name = "OptOut"


class OptOutInput(StrictInput):
    channel = serializers.ChoiceField(choices=Channel.choices, help_text=CHANNEL_HELP)
    sender = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                   help_text="Sender ID to block; empty or absent = the whole channel.")

    class Meta:
        ref_name = "OptOutWrite"


class OptOutQuery(serializers.Serializer):
    """``DELETE …/opt-outs?channel=1&sender=ACME`` (query parameters, so other parameters
    such as ``access_token`` or ``_method`` are not errors)."""

    channel = serializers.ChoiceField(choices=Channel.choices, help_text=CHANNEL_HELP)
    sender = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                   help_text="The sender ID of the opt-out to lift; empty = the whole-channel one.")


class OptInOutput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices, help_text=CHANNEL_HELP)
    sender = serializers.CharField()
    removed = serializers.IntegerField(help_text="1 when the opt-out existed and was removed, 0 otherwise.")

    class Meta:
        ref_name = "OptIn"


# --- tags -------------------------------------------------------------------------------------------


class TagOutput(serializers.ModelSerializer):
    contact_count = serializers.IntegerField(read_only=True, help_text="How many contacts have the tag.")

    class Meta:
        model = Tag
        fields = ["id", "name", "contact_count", "created_at"]
        read_only_fields = fields
        ref_name = "Tag"


class TagInput(StrictInput):
    name = serializers.CharField(max_length=100, help_text="Unique in the company (case-insensitive).")

    class Meta:
        ref_name = "TagWrite"


class TagDeletedOutput(DeletedOutput):
    contacts_untagged = serializers.IntegerField(help_text="How many contacts had the tag.")

    class Meta:
        ref_name = "TagDeleted"


# --- attributes ----------------------------------------------------------------------------------


class AttributeOutput(serializers.ModelSerializer):
    key = serializers.CharField(help_text="Used in the contact's `attributes`, filters, imports and "
                                          "personalisation ({{attribute.key}}). Derived from the name; never "
                                          "changes.")
    type = serializers.ChoiceField(choices=AttributeType.choices)
    values = serializers.ListField(child=serializers.CharField(), help_text="Allowed values (type list only).")

    class Meta:
        model = Attribute
        fields = ["key", "name", "type", "values", "show_in_profile", "position", "created_at", "updated_at"]
        read_only_fields = fields
        ref_name = "Attribute"


class AttributeInput(StrictInput):
    name = serializers.CharField(max_length=100, help_text="Unique in the company (case-insensitive).")
    type = serializers.ChoiceField(choices=AttributeType.choices,
                                   help_text="email, text, list (with `values`), number, date, bool. The type of an "
                                             "attribute that contacts already have values for cannot change.")
    values = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                   help_text="Allowed values of a list attribute (required for type list; values "
                                             "in use cannot be removed).")
    show_in_profile = serializers.BooleanField(required=False, default=False,
                                               help_text="Show in the contact panel of Conversations.")

    class Meta:
        ref_name = "AttributeWrite"


class AttributeDeletedOutput(serializers.Serializer):
    key = serializers.CharField()
    deleted = serializers.BooleanField()
    values_cleared = serializers.IntegerField(help_text="How many contacts lost a value of the attribute.")

    class Meta:
        ref_name = "AttributeDeleted"


# --- targets ----------------------------------------------------------------------------------------


class CriterionSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="phone, country, mno, tag, or attribute:<key>.")
    mode = serializers.ChoiceField(choices=[("value", "By value"), ("range", "By range"), ("empty", "Empty value"),
                                            ("nonempty", "All non-empty values")], required=False, default="value",
                                   help_text="value (text: contains, case-insensitive; other types: equals), range "
                                             "(numbers and dates: `from`/`to`, inclusive), empty, nonempty.")
    value = serializers.JSONField(required=False, help_text="For mode value.")
    # ``from`` is a keyword: declared below.

    class Meta:
        ref_name = "Criterion"


CriterionSerializer._declared_fields["from"] = serializers.JSONField(required=False,
                                                                     help_text="Lower bound for mode range.")
CriterionSerializer._declared_fields["to"] = serializers.JSONField(required=False,
                                                                   help_text="Upper bound for mode range.")


@extend_schema_field(CriterionSerializer(many=True))
class CriteriaField(serializers.JSONField):
    """A list of criteria; checked by ``services.clean_criteria`` (one message naming the
    wrong filter)."""


class TargetOutput(serializers.ModelSerializer):
    filters = CriteriaField(help_text="The criteria, combined with AND.")
    launches = serializers.IntegerField(help_text="How many broadcast runs used the target.")

    class Meta:
        model = Target
        fields = ["id", "name", "filters", "launches", "created_at", "updated_at"]
        read_only_fields = fields
        ref_name = "Target"


class TargetInput(StrictInput):
    name = serializers.CharField(max_length=200)
    filters = CriteriaField(help_text="The criteria, combined with AND (may be empty: every contact).")

    class Meta:
        ref_name = "TargetWrite"


class TargetCountOutput(serializers.Serializer):
    id = serializers.IntegerField()
    count = serializers.IntegerField(help_text="Contacts matching the target now.")

    class Meta:
        ref_name = "TargetCount"


# --- imports ----------------------------------------------------------------------------------------


class MappingField(serializers.JSONField):
    """``{"<column>": "<target>"}``: a JSON object, or its JSON text (a multipart form field)."""

    default_error_messages = {"shape": 'Give the mapping as a JSON object: {{"<column>": "phone" | "<attribute '
                                       'key>" | ""}}.'}

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("shape")
        if not isinstance(data, dict) or not all(v is None or isinstance(v, str) for v in data.values()):
            self.fail("shape")
        return {str(k).strip(): (v or "").strip() for k, v in data.items()}


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"},
                      "example": {"Phone": "phone", "B": "name", "3": "age", "Notes": ""}})
class DocumentedMappingField(MappingField):
    pass


class ImportInput(StrictInput):
    file = serializers.FileField(
        help_text="The file: .csv (UTF-8 with or without BOM, UTF-16 or Windows-1252; any usual delimiter), .xlsx, "
                  ".xls or .ods. Its type is read from its content, not its name.")
    mapping = DocumentedMappingField(
        required=False,
        help_text="Columns to attributes (in a multipart form: the JSON text). A column is its header text "
                  "(case-insensitive), its letter (`A`, `B`, … `AA`) or its 0-based index; a target is `phone`, an "
                  "attribute key, or \"\" to ignore the column. Exactly one column must be `phone`. Not given: "
                  "mapped automatically (a saved preset whose headers are all in the file, else headers matched "
                  "to attribute keys and names and the usual names of a phone column).")
    first_row = serializers.IntegerField(
        required=False, min_value=1,
        help_text="1-based number of the first data row (rows above it are headers). Not given: guessed (row 1 is a "
                  "header when it holds no phone number and row 2 does). Must be one of the first 50 rows.")
    duplicates = serializers.ChoiceField(
        choices=DuplicateMode.choices, default=DuplicateMode.SKIP,
        help_text="For numbers already in the base: `skip` leaves them untouched; `override`: the file's values "
                  "replace the stored ones (empty cells change nothing); `enrich`: only empty attributes are filled.")
    tag = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                help_text="A tag (name) for the imported contacts; created when missing.")

    class Meta:
        ref_name = "ImportCreate"


class ImportOutput(serializers.Serializer):
    """An import as ``services.import_status`` describes it."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ImportStatus.choices,
                                     help_text="uploaded → queued → running → done | failed.")
    status_label = serializers.CharField()
    file = serializers.CharField(help_text="The uploaded file's name.")
    kind = serializers.ChoiceField(choices=[(ContactImport.QUICK, "quick"), (ContactImport.WIZARD, "wizard")])
    total_rows = serializers.IntegerField(help_text="Data rows in the file (known once queued).")
    processed_rows = serializers.IntegerField(help_text="Rows done so far (committed in chunks).")
    percent = serializers.IntegerField(help_text="Progress, 0–100.")
    created = serializers.IntegerField(help_text="New contacts.")
    updated = serializers.IntegerField(help_text="Existing contacts matched with override / enrich.")
    skipped_duplicates = serializers.IntegerField(help_text="Existing contacts left alone (skip).")
    errors = serializers.IntegerField(help_text="Rejected rows (see /imports/{id}/errors).")
    error_message = serializers.CharField(help_text="Why the import failed (status failed); empty otherwise.")
    duplicate_mode = serializers.CharField(help_text="The `duplicates` mode: skip, override or enrich.")
    tag = serializers.CharField(allow_null=True)
    finished = serializers.BooleanField(help_text="done or failed: polling can stop.")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    errors_url = serializers.URLField(allow_null=True,
                                      help_text="The rejected rows (XLSX) once the import is done and rejected any.")

    class Meta:
        ref_name = "Import"

    def to_representation(self, instance):
        data = services.import_status(instance)
        request = self.context.get("request")
        url = None
        if data["status"] == ImportStatus.DONE and data["errors"] and request is not None:
            url = request.build_absolute_uri(f"/api/v1/imports/{instance.pk}/errors")
        return super().to_representation({**data, "errors_url": url})


class ImportErrorRowOutput(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row number in the file (1-based, as a spreadsheet shows it).")
    cells = serializers.ListField(child=serializers.CharField(allow_blank=True), help_text="The row's cells.")
    error = serializers.CharField(help_text="Why the row was rejected.")

    class Meta:
        ref_name = "ImportErrorRow"


class ImportErrorsOutput(serializers.Serializer):
    id = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="Rejected rows in all (so far, while running).")
    rows = ImportErrorRowOutput(many=True, help_text="The first rejected rows (at most `limit`).")

    class Meta:
        ref_name = "ImportErrors"

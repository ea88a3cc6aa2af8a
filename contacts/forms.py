"""Forms of the contacts pages: contact, attribute, target, mass edit.

Forms parse input and show errors; the rules live in ``contacts.services`` (values are
typed by ``contacts.attributes.coerce`` there, the same way for a form, an import and the
API). The forms run the same coercion first only to put each message on its input.
"""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .attributes import TEXT_MAX
from .models import AttributeType
from .services import clean_attribute_values

ATTRIBUTE_FIELD_PREFIX = "attr_"
TAG_MAX = 100


def attribute_field_name(key: str) -> str:
    return ATTRIBUTE_FIELD_PREFIX + key


class TagsField(forms.Field):
    """Tag names, one per ``tags`` value (the tag picker posts one hidden input per tag)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        names, seen = [], set()
        for raw in value:
            name = str(raw).strip()
            if name and name.lower() not in seen:
                seen.add(name.lower())
                names.append(name)
        return names

    def validate(self, value):
        super().validate(value)
        for name in value:
            if len(name) > TAG_MAX:
                raise ValidationError(_("A tag has at most %(n)d characters.") % {"n": TAG_MAX})


def attribute_input(attr) -> forms.Field:
    """The input for one attribute, by type (spec P§6.6)."""
    common = {"label": attr.name, "required": False}
    if attr.type == AttributeType.EMAIL:
        return forms.CharField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}), **common)
    if attr.type == AttributeType.LIST:
        return forms.ChoiceField(choices=[("", "—")] + [(v, v) for v in attr.values], **common)
    if attr.type == AttributeType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if attr.type == AttributeType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if attr.type == AttributeType.BOOL:
        return forms.ChoiceField(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))], **common)
    return forms.CharField(max_length=TEXT_MAX, **common)


def attribute_initial(attr, value) -> str:
    """A stored value as the input shows it."""
    if value is None:
        return ""
    if attr.type == AttributeType.BOOL:
        return "true" if value else "false"
    return str(value)


class AttributeInputsMixin:
    """One input per attribute of the company, validated by type in ``clean``."""

    def add_attribute_inputs(self, attributes):
        self.attributes = list(attributes)
        for attr in self.attributes:
            self.fields[attribute_field_name(attr.key)] = attribute_input(attr)

    def attribute_bound_fields(self):
        return [self[attribute_field_name(a.key)] for a in self.attributes]

    def raw_attribute_values(self) -> dict:
        return {a.key: self.cleaned_data.get(attribute_field_name(a.key), "") for a in self.attributes}

    def check_attribute_values(self) -> dict:
        raw = self.raw_attribute_values()
        _values, _cleared, errors = clean_attribute_values(self.company, raw,
                                                           attributes={a.key: a for a in self.attributes})
        for key, message in errors.items():
            self.add_error(attribute_field_name(key), message)
        return raw


class ContactForm(AttributeInputsMixin, forms.Form):
    phone = forms.CharField(label=gettext_lazy("Phone number"), max_length=40,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
                            help_text=gettext_lazy("International form (+34 612 34 56 78), or national for the "
                                                   "company's default region."))
    tags = TagsField(label=gettext_lazy("Tags"), required=False)
    wechat_id = forms.CharField(label=gettext_lazy("WeChat ID"), max_length=64, required=False)

    def __init__(self, *args, company, attributes, **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company
        self.add_attribute_inputs(attributes)

    def clean(self):
        data = super().clean()
        data["attributes"] = self.check_attribute_values()
        return data


class NewAttributeForm(forms.Form):
    """*Add attribute* on the contact form (prefixed ``new_attribute``)."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=AttributeType.choices, initial=AttributeType.TEXT)
    values = forms.CharField(label=gettext_lazy("Allowed values"), required=False,
                             widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=gettext_lazy("For a text list of values: one value per line."))
    show_in_profile = forms.BooleanField(label=gettext_lazy("Show in client's profile"), required=False)

    def clean_values(self):
        return [line.strip() for line in (self.cleaned_data.get("values") or "").splitlines() if line.strip()]


class AttributeForm(NewAttributeForm):
    pass


class TargetForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    filters = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_filters(self):
        raw = self.cleaned_data.get("filters") or "[]"
        try:
            filters = json.loads(raw)
        except ValueError:
            raise ValidationError(_("The filters could not be read."))
        if not isinstance(filters, list):
            raise ValidationError(_("The filters could not be read."))
        return filters


class MassEditForm(AttributeInputsMixin, forms.Form):
    """*Edit selected items* (spec P§6.5): add tags, set attribute values, or, with
    *Delete attribute values*, clear the ticked attributes."""

    tags = TagsField(label=gettext_lazy("Add tags"), required=False)
    clear_values = forms.BooleanField(label=gettext_lazy("Delete attribute values"), required=False)
    clear = forms.MultipleChoiceField(label=gettext_lazy("Attributes to clear"), required=False,
                                      widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, company, attributes, **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company
        self.add_attribute_inputs(attributes)
        self.fields["clear"].choices = [(a.key, a.name) for a in self.attributes]

    def clean(self):
        data = super().clean()
        if data.get("clear_values"):  # the switch: clear the ticked attributes, set nothing
            data["set_values"] = {}
            data["clear_keys"] = list(data.get("clear") or [])
            if not data["clear_keys"]:
                self.add_error("clear", _("Tick the attributes to clear."))
            return data
        raw = self.check_attribute_values()
        data["set_values"] = {k: v for k, v in raw.items() if v not in ("", None)}
        data["clear_keys"] = []
        return data

    def has_changes(self) -> bool:
        data = self.cleaned_data
        return bool(data.get("tags") or data.get("set_values") or data.get("clear_keys"))


def apply_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError on the form: ``attributes`` errors on each attribute's
    input (their code is the attribute key), others on their field or form-wide."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.error_dict.items():
        for error in errors:
            message = error.message % error.params if error.params else error.message
            name = field
            if field == "attributes" and error.code and attribute_field_name(error.code) in form.fields:
                name = attribute_field_name(error.code)
            form.add_error(name if name in form.fields else None, message)

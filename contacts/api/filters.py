"""Query filters of the contacts API (django-filter).

Contacts take plain filters (``phone``, ``country``, ``mno``, ``tag``, ``rcs_capable``,
``created_after``…) plus two ways to filter on attributes, both compiled by
``contacts.selectors.apply_criteria`` (the same criteria as targets, so a list filter and a
target with the same criteria always agree):

* ``filter[<attribute key>]=<value>``: the *By value* mode (text and e-mail attributes:
  contains, case-insensitive; numbers, dates, lists, yes/no: equals);
* ``criteria=<JSON list>``: every mode (``value``, ``range``, ``empty``, ``nonempty``) on any
  field, exactly as a target's ``filters``.

Everything is combined with AND. A bad value answers 422 naming the parameter.
"""

from __future__ import annotations

import json
import re

import django_filters
from rest_framework import serializers

from contacts.models import Attribute, AttributeType, Contact, ContactTag, Tag, Target
from contacts.phones import InvalidPhone, normalize
from contacts.selectors import CriteriaError, apply_criteria

ATTRIBUTE_FILTER = re.compile(r"^filter\[([^\]]*)\]$")


def _company(filterset):
    return filterset.request.auth.company


class ContactFilter(django_filters.FilterSet):
    phone = django_filters.CharFilter(
        method="filter_phone",
        help_text="Exact number, in any form the API accepts for a contact (normalised to E.164 first; "
                  "a national number is read in the company's default region).")
    country = django_filters.CharFilter(lookup_expr="iexact",
                                        help_text="ISO country of the number, e.g. ES (case-insensitive).")
    mno = django_filters.CharFilter(lookup_expr="iexact", help_text="Mobile operator (exact, case-insensitive).")
    tag = django_filters.CharFilter(
        method="filter_tag",
        help_text="Tag name (case-insensitive). Repeat the parameter for contacts having every tag given.")
    rcs_capable = django_filters.BooleanFilter(help_text="true / false (never-checked contacts match neither).")
    created = django_filters.IsoDateTimeFromToRangeFilter(
        field_name="created_at",
        help_text="Created between `created_after` and `created_before` (ISO 8601, inclusive).")
    updated = django_filters.IsoDateTimeFromToRangeFilter(
        field_name="updated_at",
        help_text="Changed between `updated_after` and `updated_before` (ISO 8601, inclusive).")
    criteria = django_filters.CharFilter(
        method="filter_criteria",
        help_text='A JSON list of criteria as in a target\'s `filters`, e.g. `[{"field": "attribute:age", '
                  '"mode": "range", "from": 18, "to": 30}, {"field": "tag", "mode": "empty"}]`. '
                  "Modes: value, range, empty, nonempty; fields: phone, country, mno, tag, attribute:<key>.")

    class Meta:
        model = Contact
        fields = ["phone", "country", "mno", "tag", "rcs_capable", "created", "updated", "criteria"]

    def filter_phone(self, queryset, name, value):
        try:
            number = normalize(value, _company(self).default_region)
        except InvalidPhone as exc:
            raise serializers.ValidationError({"phone": [str(exc)]})
        return queryset.filter(phone=number.e164)

    def filter_tag(self, queryset, name, value):
        names = [n.strip() for n in self.data.getlist("tag") if n.strip()] if hasattr(self.data, "getlist") \
            else [value.strip()]
        for tag_name in dict.fromkeys(n.lower() for n in names):
            queryset = queryset.filter(
                pk__in=ContactTag.objects.filter(tag__company=_company(self), tag__name__iexact=tag_name)
                .values("contact_id"))
        return queryset

    def filter_criteria(self, queryset, name, value):
        try:
            criteria = json.loads(value)
        except ValueError:
            raise serializers.ValidationError({"criteria": ["Give the criteria as a JSON list."]})
        if not isinstance(criteria, list) or not all(isinstance(c, dict) for c in criteria):
            raise serializers.ValidationError({"criteria": ["Give the criteria as a JSON list of objects."]})
        try:
            return apply_criteria(queryset, _company(self), criteria)
        except CriteriaError as exc:
            raise serializers.ValidationError({"criteria": [str(exc)]})

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        by_value = []
        for param in sorted(self.data):
            match = ATTRIBUTE_FILTER.match(param)
            if not match:
                continue
            value = self.data.get(param, "")
            if not value.strip():
                raise serializers.ValidationError({param: [
                    "Give a value; for contacts without one use criteria with mode empty."]})
            by_value.append((param, {"field": f"attribute:{match.group(1)}", "mode": "value", "value": value}))
        errors = {}
        for param, criterion in by_value:
            try:
                queryset = apply_criteria(queryset, _company(self), [criterion])
            except CriteriaError as exc:
                errors[param] = [str(exc)]
        if errors:
            raise serializers.ValidationError(errors)
        return queryset


class TagFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name (case-insensitive).")

    class Meta:
        model = Tag
        fields = ["name"]


class AttributeFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=AttributeType.choices, help_text="Only attributes of this type.")

    class Meta:
        model = Attribute
        fields = ["type"]


class TargetFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name (case-insensitive).")

    class Meta:
        model = Target
        fields = ["name"]

"""Query filters of the accounts API (django-filter). Foreign keys are filtered by id with a
plain number filter, never a model choice: a choice field would load (and validate against)
rows of every company."""

import django_filters

from accounts.models import User


class UserFilter(django_filters.FilterSet):
    login = django_filters.CharFilter(lookup_expr="iexact", help_text="Exact login (case-insensitive).")
    email = django_filters.CharFilter(lookup_expr="iexact", help_text="Exact e-mail (case-insensitive).")
    department = django_filters.NumberFilter(field_name="department_id", help_text="Department id.")
    is_active = django_filters.BooleanFilter(help_text="true: enabled users; false: disabled users.")

    class Meta:
        model = User
        fields = ["login", "email", "department", "is_active"]

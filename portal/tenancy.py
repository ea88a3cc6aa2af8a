"""Tenant scoping: every tenant-owned row carries its company, and every read starts
from ``Model.objects.for_company(company)``. A missing company is an error, never
"all companies"."""

from __future__ import annotations

from django.db import models


class MissingCompany(ValueError):
    """Raised when a tenant-scoped query is asked for without a company."""


class TenantQuerySet(models.QuerySet):
    def for_company(self, company):
        if company is None:
            raise MissingCompany(f"{self.model.__name__}: a company is required to scope this query")
        company_id = company if isinstance(company, int) else company.pk
        return self.filter(company_id=company_id)


TenantManager = models.Manager.from_queryset(TenantQuerySet)


class TenantModel(models.Model):
    """Abstract base for every row that belongs to one company."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set")

    objects = TenantManager()

    class Meta:
        abstract = True

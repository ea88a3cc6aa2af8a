"""Reads about people and access, always scoped to one company."""

from django.db.models import Prefetch

from .models import ApiAccess, Department, Role, User


def users_for(company):
    return (User.objects.filter(company=company) if company is not None else User.objects.none()) \
        .select_related("department").prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("name")))


def user_detail(company, pk):
    return users_for(company).get(pk=pk)


def departments_for(company):
    return Department.objects.for_company(company).order_by("name")


def roles_for(company):
    return Role.objects.available_to(company).order_by("company_id", "name")


def api_accesses_for(company):
    return ApiAccess.objects.for_company(company)

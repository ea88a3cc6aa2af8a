"""Factories shared by every app's tests. Users are created through the services, so
test data obeys the same rules as real data."""

from __future__ import annotations

import itertools

from django.utils import timezone

from accounts import services
from accounts.models import Company, Department, Role, User
from portal.audit import Actor

PASSWORD = "Str0ng!Passw0rd"
_seq = itertools.count(1)


def company(name: str | None = None, **fields) -> Company:
    return services.create_company(name=name or f"Company {next(_seq)}", **fields)


def system_role(code: str) -> Role:
    return Role.objects.get(company=None, system_code=code)


def user(company: Company | None = None, *, login: str | None = None, password: str = PASSWORD,
         unrestricted: bool = False, roles=None, ready: bool = True, **fields) -> User:
    """A user of ``company``. ``ready=True`` means the first-login password change is
    done, so the user can use the portal straight away."""
    company = company or globals()["company"]()
    n = next(_seq)
    department = fields.pop("department", None) or Department.objects.for_company(company).first()
    if roles is None and not unrestricted:
        roles = [system_role("admin")]
    u = services.create_user(
        actor=Actor.system(company), company=company, password=password, roles=roles or [],
        login=login or f"user{n}", first_name=fields.pop("first_name", "Ada"),
        last_name=fields.pop("last_name", f"Lovelace{n}"), email=fields.pop("email", f"user{n}@example.com"),
        department=department, unrestricted=unrestricted, **fields)
    if ready:
        u.must_change_password = False
        u.last_login = timezone.now()
        u.save(update_fields=["must_change_password", "last_login"])
    return u


def admin(company: Company | None = None, **kwargs) -> User:
    return user(company, unrestricted=True, **kwargs)


def api_access(company: Company, scopes=("recipients", "broadcast", "crm", "omni-api", "dids"), **kwargs):
    """Returns (access, raw_key)."""
    return services.create_api_access(actor=Actor.system(company), company=company,
                                      name=kwargs.pop("name", f"Integration {next(_seq)}"), scopes=list(scopes),
                                      **kwargs)

"""Recording the audit log. Services call these helpers for every create, update and
delete of a business object, passing the :class:`Actor` that did it."""

from __future__ import annotations

import datetime
import decimal
import uuid
from dataclasses import dataclass, field

from django.db import models

from portal.models import AuditDetail, AuditEvent

# Fields never written to the audit log, whatever the model.
SECRET_FIELDS = {"password", "key_hash", "credentials", "secret"}


@dataclass
class Actor:
    """Who is acting: a portal user or an API key, from an IP address, for a company."""

    user: object | None = None
    api_access: object | None = None
    ip: str | None = None
    company: object | None = None

    @classmethod
    def from_request(cls, request) -> Actor:
        from accounts.models import ApiAccess
        from portal.net import client_ip

        auth = getattr(request, "auth", None)  # DRF puts the authenticated ApiAccess here
        api_access = auth if isinstance(auth, ApiAccess) else None
        user = getattr(request, "user", None)
        if api_access is not None:
            return cls(api_access=api_access, ip=client_ip(request), company=api_access.company)
        if user is not None and getattr(user, "is_authenticated", False):
            return cls(user=user, ip=client_ip(request), company=user.company)
        return cls(ip=client_ip(request))

    @classmethod
    def system(cls, company=None) -> Actor:
        return cls(company=company)


@dataclass
class Change:
    table: str
    operation: str
    object_id: str
    old: dict | None = None
    new: dict | None = None
    extra: dict = field(default_factory=dict)


def _jsonable(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    return value


def snapshot(obj) -> dict:
    """The row's concrete field values as JSON-able data (secrets left out), plus its
    many-to-many ids when the object is saved."""
    data = {}
    for f in obj._meta.concrete_fields:
        if f.name in SECRET_FIELDS:
            continue
        data[f.attname] = _jsonable(f.value_from_object(obj))
    if obj.pk:
        for m2m in obj._meta.many_to_many:
            data[m2m.name] = sorted(getattr(obj, m2m.name).values_list("pk", flat=True))
    return data


def record(actor: Actor, action: str, changes: list[Change], company=None) -> AuditEvent | None:
    changes = [c for c in changes if c.operation != AuditDetail.Operation.UPDATE or c.old != c.new]
    if not changes:
        return None
    event = AuditEvent.objects.create(
        company=company or actor.company,
        user=actor.user,
        user_login=getattr(actor.user, "login", "") or "",
        api_access=actor.api_access,
        api_access_name=getattr(actor.api_access, "name", "") or "",
        ip_address=actor.ip,
        action=action[:255],
        detail_count=len(changes),
    )
    AuditDetail.objects.bulk_create(
        AuditDetail(event=event, table=c.table, operation=c.operation, object_id=c.object_id,
                    old_value=c.old, new_value=c.new)
        for c in changes
    )
    return event


def created(obj) -> Change:
    return Change(obj._meta.db_table, AuditDetail.Operation.INSERT, str(obj.pk), None, snapshot(obj))


def updated(obj, before: dict) -> Change:
    return Change(obj._meta.db_table, AuditDetail.Operation.UPDATE, str(obj.pk), before, snapshot(obj))


def deleted(obj, before: dict | None = None, pk=None) -> Change:
    return Change(obj._meta.db_table, AuditDetail.Operation.DELETE, str(pk if pk is not None else obj.pk),
                  before if before is not None else snapshot(obj), None)

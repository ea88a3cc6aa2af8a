"""The bulk helpers of ``portal.db`` the sending engine's hot paths rely on: the ``__any``
lookup and the instance factory. Both must give exactly what the ORM's own forms give."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Company
from contacts.models import Contact
from messaging.models import Message, MessageStatus
from portal.db import array_param, copy_insert, insert_with_children, instance_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts():
    company = Company.objects.create(name="Any Co")
    return [Contact.objects.create(company=company, phone=f"+3461000000{i}") for i in range(5)]


def test_any_lookup_selects_the_same_rows_as_in(contacts):
    wanted = [contacts[0].pk, contacts[3].pk, 999_999]
    assert set(Contact.objects.filter(pk__any=wanted)) == set(Contact.objects.filter(pk__in=wanted)) == {
        contacts[0], contacts[3]}
    assert list(Contact.objects.filter(pk__any=[])) == []
    assert set(Contact.objects.filter(pk__any={contacts[1].pk, None})) == {contacts[1]}
    assert Contact.objects.filter(pk__any=[contacts[2].pk]).update(mno="Orange") == 1
    assert Contact.objects.get(pk=contacts[2].pk).mno == "Orange"


def test_any_lookup_takes_one_parameter_on_postgresql(contacts):
    if connection.vendor != "postgresql":
        pytest.skip("the array form is PostgreSQL's; elsewhere __any is __in")
    with CaptureQueriesContext(connection) as queries:
        assert Contact.objects.filter(pk__any=[c.pk for c in contacts]).count() == 5
    assert "= ANY(" in queries[0]["sql"]
    assert queries[0]["sql"].count("%s") <= 1  # one array, however many ids


AWKWARD = ['say "hi"', "back\\slash", "a,b", "{braces}", "NULL", "", " spaced ", "ñandú ✓", "multi\nline", None]


def test_an_array_parameter_gives_back_every_value_as_it_was(postgresql):
    """Values PostgreSQL's array syntax gives a meaning to (quotes, backslashes, commas,
    braces, the word NULL, blanks) arrive as they were; None is NULL."""
    import datetime
    import uuid

    when = datetime.datetime(2026, 11, 23, 17, 9, 48, 851215, tzinfo=datetime.UTC)
    key = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute("SELECT unnest(%s::text[])", [array_param(AWKWARD)])
        assert [row[0] for row in cursor.fetchall()] == AWKWARD
        cursor.execute("SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::boolean[], %s::timestamptz[],"
                       " %s::numeric[], %s::date[])",
                       [array_param(v) for v in ([key, None], [7, -2**40], [True, False], [when, None],
                                                 [Decimal("0.0050"), None], [when.date(), None])])
        assert cursor.fetchall() == [(key, 7, True, when, Decimal("0.0050"), when.date()),
                                     (None, -2**40, False, None, None, None)]
    assert array_param([b"bytes"]) == [b"bytes"]  # a type it does not know: left to psycopg


def test_an_array_parameter_writes_enum_members_as_their_values(postgresql):
    import enum

    from messaging.models import MessageStatus, Priority

    class Plain(str, enum.Enum):  # noqa: UP042 - str() of such a member is "Plain.A", not its value
        A = "a-value"

    class Number(enum.IntEnum):
        TWO = 2

    with connection.cursor() as cursor:
        cursor.execute("SELECT unnest(%s::text[])", [array_param([MessageStatus.QUEUED, Plain.A, None])])
        assert [row[0] for row in cursor.fetchall()] == ["queued", "a-value", None]
        cursor.execute("SELECT unnest(%s::int[])", [array_param([Priority.HIGH, Number.TWO, 3])])
        assert [row[0] for row in cursor.fetchall()] == [int(Priority.HIGH), 2, 3]


def test_any_lookup_matches_awkward_text_exactly(contacts):
    for contact, mno in zip(contacts, AWKWARD, strict=False):
        contact.mno = mno or ""
        contact.save(update_fields=["mno"])
    assert {c.mno for c in Contact.objects.filter(mno__any=AWKWARD[:5])} == set(AWKWARD[:5])
    assert not Contact.objects.filter(mno__any=['say \\"hi\\"', "a", "b"]).exists()


def test_any_lookup_prepares_values_that_are_not_already_keys(contacts):
    """Ids of the key's own type go as they are; others are prepared as ``__in`` does."""
    ids = [contacts[1].pk, contacts[4].pk]
    assert set(Contact.objects.filter(pk__any=[str(i) for i in ids])) == {contacts[1], contacts[4]}
    assert set(Contact.objects.filter(pk__any=(ids[0], None, str(ids[1])))) == {contacts[1], contacts[4]}
    message = Message.objects.create(company_id=contacts[0].company_id, channel=1, address="+34600000000",
                                     source="api", status=MessageStatus.QUEUED)
    assert list(Message.objects.filter(pk__any=[message.pk])) == [message]
    assert list(Message.objects.filter(pk__any=[str(message.pk)])) == [message]


def test_any_lookup_on_a_foreign_key(contacts):
    from contacts.models import Tag

    tag = Tag.objects.create(company_id=contacts[0].company_id, name="vip")
    contacts[1].tags.add(tag)
    assert list(Contact.objects.filter(company_id__any=[contacts[0].company_id]).order_by("pk")) == contacts
    assert [c.pk for c in Contact.objects.filter(tags__any=[tag.pk])] == [contacts[1].pk]


def test_any_lookup_accepts_a_subquery(contacts):
    sub = Contact.objects.filter(phone__endswith="3").values("pk")
    assert list(Contact.objects.filter(pk__any=sub)) == [contacts[3]]


def test_instance_factory_builds_what_the_constructor_builds(contacts):
    make = instance_factory(Message)
    fields = [f.attname for f in Message._meta.concrete_fields if f.attname != "id"]
    made = make(company_id=contacts[0].company_id, contact_id=contacts[0].pk, channel=1, address="+34610000000")
    built = Message(company_id=contacts[0].company_id, contact_id=contacts[0].pk, channel=1, address="+34610000000")
    assert {f: getattr(made, f) for f in fields} == {f: getattr(built, f) for f in fields}
    assert made.pk is not None and made.pk != make().pk  # a callable default runs per instance
    assert made.content == {} and made.content is not make().content  # never a shared dict
    assert made._state.adding and made.status == MessageStatus.QUEUED
    assert made.contact == contacts[0]  # related objects load as usual


def test_factory_instances_save_and_bulk_insert(contacts):
    make = instance_factory(Message)
    company_id = contacts[0].company_id
    single = make(company_id=company_id, channel=1, address="+34610000001")
    single.save()
    copy_insert(Message, [make(company_id=company_id, channel=1, address=f"+3461000001{i}") for i in range(3)])
    assert Message.objects.filter(company_id=company_id).count() == 4
    assert Message.objects.get(pk=single.pk).address == "+34610000001"


@pytest.mark.parametrize("n", [1, 30])
def test_copy_insert_writes_every_value_as_the_orm_would(contacts, n):
    from decimal import Decimal

    make = instance_factory(Message)
    company_id = contacts[0].company_id
    content = {"text": "Hola {{name}} — ¿qué tal? \t\\ \"quoted\"", "buttons": [1, None, True]}
    rows = [make(company_id=company_id, contact_id=contacts[i % 5].pk, channel=1, address=f"+346100000{i:02d}",
                 content=content, price=Decimal("0.012500"), currency="EUR", error_text="it's\nmultiline" if i else "")
            for i in range(n)]
    copy_insert(Message, rows)
    saved = {m.pk: m for m in Message.objects.filter(company_id=company_id)}
    assert len(saved) == n
    for row in rows:
        got = saved[row.pk]
        assert (got.address, got.contact_id, got.content, got.price, got.currency, got.error_text, got.status) == (
            row.address, row.contact_id, content, Decimal("0.012500"), "EUR", row.error_text, MessageStatus.QUEUED)


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: COPY and single-statement writes (elsewhere the ORM saves row by row)")


def _plan_with_messages(company_id, contact_id, n=2):
    from datetime import datetime, timedelta, timezone

    from messaging.models import DeliveryPlan

    make = instance_factory(Message)
    messages = [make(company_id=company_id, contact_id=contact_id, channel=1, step=i, address="+34610000001",
                     content={"text": f"Hola {i} — \"it's\"\n¿qué?", "n": [1, None]}, currency="EUR",
                     price=Decimal("0.012500"), error_text="O'Brien\t\\" if i else "") for i in range(n)]
    deadline = datetime(2026, 11, 23, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    plan = DeliveryPlan(company_id=company_id, contact_id=contact_id, source="api", steps=[{"channel": 1}] * n,
                        current_step=n - 1, current_message=messages[-1], deadline=deadline, state="active")
    return plan, messages


def test_insert_with_children_writes_every_value_with_one_statement(contacts, postgresql):
    from messaging.models import DeliveryPlan

    company_id = contacts[0].company_id
    plan, messages = _plan_with_messages(company_id, contacts[0].pk)
    with CaptureQueriesContext(connection) as queries:
        insert_with_children(plan, messages, "plan_id")
    assert len(queries) == 1
    assert plan.pk and all(m.plan_id == plan.pk for m in messages)
    stored = DeliveryPlan.objects.get(pk=plan.pk)
    assert (stored.current_message_id, stored.deadline, stored.steps, stored.state, stored.created_at) == (
        messages[-1].pk, plan.deadline, plan.steps, "active", plan.created_at)
    for message in messages:
        got = Message.objects.get(pk=message.pk)
        assert (got.plan_id, got.content, got.price, got.error_text, got.step, got.status) == (
            plan.pk, message.content, Decimal("0.012500"), message.error_text, message.step, MessageStatus.QUEUED)


@pytest.mark.django_db(transaction=True)
def test_insert_with_children_writes_all_or_nothing_outside_a_transaction(contacts, postgresql):
    from django.db import DataError

    from messaging.models import DeliveryPlan

    company_id = contacts[0].company_id
    plan, messages = _plan_with_messages(company_id, contacts[0].pk)
    messages[1].address = "+" + "1" * 400  # longer than the column: the second row fails
    assert connection.get_autocommit()
    with pytest.raises(DataError):
        insert_with_children(plan, messages, "plan_id")
    assert not DeliveryPlan.objects.filter(company_id=company_id).exists()
    assert not Message.objects.filter(company_id=company_id).exists()


def test_rows_to_instances_gives_what_only_gives(contacts, django_assert_num_queries):
    from portal.db import rows_to_instances

    contacts[0].attributes = {"name": "Ann", "tags": ["a"]}
    contacts[0].save()
    names = ["id", "company_id", "phone", "attributes"]
    query = Contact.objects.filter(pk__in=[c.pk for c in contacts]).order_by("pk")
    built = rows_to_instances(Contact, names, query.values_list(*names))
    expected = list(query.only(*names))
    assert [(c.pk, c.company_id, c.phone, c.attributes) for c in built] == [
        (c.pk, c.company_id, c.phone, c.attributes) for c in expected]
    assert built[0].attributes == {"name": "Ann", "tags": ["a"]}  # JSON decoded, as the ORM does
    assert not built[0]._state.adding and built[0]._state.db == "default"
    with django_assert_num_queries(1):  # a field not read is deferred: loaded on access
        assert built[0].country == contacts[0].country


def test_values_getter_reads_plain_columns_and_falls_back_for_other_descriptors(contacts):
    from messaging.models import SenderId
    from portal.db import values_getter

    fields = [Contact._meta.get_field(n) for n in ("id", "company", "phone")]
    get = values_getter(Contact, fields)
    contact = Contact.objects.only("id", "company").get(pk=contacts[0].pk)  # phone deferred
    assert get(contact) == (contact.pk, contact.company_id, contacts[0].phone)  # read through the attribute
    sender = SenderId(company=contacts[0].company, channel=1, name="X", logo="sender_ids/logos/x.png")
    logo = values_getter(SenderId, [SenderId._meta.get_field("logo"), SenderId._meta.get_field("name")])(sender)
    assert (logo[0].name, logo[1]) == ("sender_ids/logos/x.png", "X")  # the file field's own descriptor


def test_copy_insert_stamps_one_creation_time_per_batch(contacts, postgresql):
    made = [Message(company=contacts[0].company, contact=c, address=c.phone, channel=1, source="api")
            for c in contacts]
    copy_insert(Message, made)
    stamps = set(Message.objects.filter(pk__in=[m.pk for m in made]).values_list("created_at", flat=True))
    assert len(stamps) == 1 and None not in stamps

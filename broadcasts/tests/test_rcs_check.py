"""The RCS capability check (spec §4.2 item 8, §4.3): a broadcast of that type asks the
RCS gateway which recipients' devices can receive RCS and stores it on the contacts; in a
fallback broadcast the toggle checks first and skips the RCS step for the devices that
cannot receive it, so they get the next step at once."""

import pytest

from broadcasts.models import BroadcastStatus, BroadcastType
from broadcasts.selectors import statistics
from broadcasts.services import runs
from broadcasts.services.definition import BroadcastError
from broadcasts.tests import factories as bf
from contacts.models import Contact
from messaging.models import Message, MessageStatus
from messaging.tests import factories as mf
from portal.audit import Actor
from portal.channel_types import Channel


@pytest.fixture
def people(company):
    return mf.contacts(company, 20)


def _actor(user):
    return Actor(user=user, company=user.company)


def test_capability_check_broadcast_marks_the_contacts(company, admin_user, people, run_commits):
    mf.gateway(channel=Channel.RCS, settings={"seed": 3, "rcs_capable_rate": 0.5})
    b = bf.broadcast(company, type=BroadcastType.RCS_CHECK, steps=[],
                     recipients={"phones": [c.phone for c in people]})
    with run_commits():
        runs.launch(actor=_actor(admin_user), broadcast=b)
    checked = Contact.objects.filter(company=company, rcs_checked_at__isnull=False)
    assert checked.count() == 20
    capable = checked.filter(rcs_capable=True).count()
    assert 0 < capable < 20  # seeded: some can, some cannot
    assert not Message.objects.filter(company=company).exists()  # a check sends nothing
    assert runs.refresh_progress() == 1
    b.refresh_from_db()
    stats = statistics(b)
    assert b.status == BroadcastStatus.COMPLETE
    assert (stats["total"], stats["successful"], stats["unsuccessful"]) == (20, capable, 20 - capable)


def test_capability_check_needs_an_rcs_gateway(company, admin_user, people):
    b = bf.broadcast(company, type=BroadcastType.RCS_CHECK, steps=[], recipients={"phones": [people[0].phone]})
    with pytest.raises(BroadcastError) as err:
        runs.launch(actor=_actor(admin_user), broadcast=b)
    assert "No RCS gateway" in err.value.errors["type"]


def test_fallback_with_the_check_skips_rcs_for_incapable_devices(company, admin_user, people, run_commits):
    mf.gateway(channel=Channel.RCS, settings={"seed": 3, "rcs_capable_rate": 0.5})
    mf.gateway(channel=Channel.SMS)
    mf.sender_id(company, "BOT", channel=Channel.RCS)
    mf.sender_id(company, "HERALD")
    b = bf.broadcast(company, rcs_check=True, recipients={"phones": [c.phone for c in people]},
                     steps=[bf.step(Channel.RCS, sender="BOT", content={"type": "text", "text": "Hi"}),
                            bf.step(Channel.SMS, sender="HERALD", text="Hi by SMS")])
    with run_commits():
        runs.launch(actor=_actor(admin_user), broadcast=b)
    incapable = set(Contact.objects.filter(company=company, rcs_capable=False).values_list("phone", flat=True))
    assert incapable
    skipped = Message.objects.filter(source_id=b.pk, channel=Channel.RCS, status=MessageStatus.SKIPPED)
    assert set(skipped.values_list("address", flat=True)) == incapable
    assert set(skipped.values_list("error_code", flat=True)) == {"not_rcs_capable"}
    sms = Message.objects.filter(source_id=b.pk, channel=Channel.SMS)
    assert set(sms.values_list("address", flat=True)) == incapable  # the next step at once


def test_the_toggle_needs_an_rcs_step(company, admin_user, people):
    mf.sender_id(company, "HERALD")
    b = bf.broadcast(company, rcs_check=True, recipients={"phones": [people[0].phone]})
    with pytest.raises(BroadcastError) as err:
        runs.launch(actor=_actor(admin_user), broadcast=b)
    assert "rcs_check" in err.value.errors

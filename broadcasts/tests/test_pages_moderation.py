"""*Moderation* by the parent company (issue 5 item 1; D56, D63): the queue of the direct
child companies' broadcasts and templates on moderation, the read-only review page,
*Approve* and *Reject* (a note is required; the child's user reads it), the menu entry
for parent companies only, tenant isolation (sibling, the child itself, a grandchild's
row, the grandparent, an unrelated company: nothing listed, 404 on every page and
action), CSRF, and a query count that does not grow with the rows."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcasts.models import BroadcastStatus, ModerationState
from broadcasts.tests import factories as bf
from contacts.models import Tag, Target
from portal.channel_types import Channel
from portal.models import AuditEvent
from portal.testing import factories

S = BroadcastStatus
QUEUE = "/broadcasts/moderation/"
TEMPLATE_QUEUE = "/broadcasts/moderation/templates/"
RECIPIENTS = {"targets": [], "tags": [], "phones": ["+34612345678"]}


@pytest.fixture
def family(db):
    """grandparent ← parent ← child (moderated) / sibling; child ← grandchild; unrelated."""
    grandparent = factories.company("Holding")
    parent = factories.company("Reseller", parent=grandparent, time_zone="Europe/Madrid")
    child = factories.company("Acme Client", parent=parent, moderation=True)
    sibling = factories.company("Sibling Client", parent=parent, moderation=True)
    grandchild = factories.company("Grandchild", parent=child, moderation=True)
    unrelated = factories.company("Unrelated")
    return {"grandparent": grandparent, "parent": parent, "child": child, "sibling": sibling,
            "grandchild": grandchild, "unrelated": unrelated}


@pytest.fixture
def parent_user(family):
    return factories.user(family["parent"], login="reseller", first_name="Rita", last_name="Reseller")


@pytest.fixture
def child_user(family):
    return factories.user(family["child"], login="client", first_name="Carl", last_name="Client")


@pytest.fixture
def parent_client(parent_user):
    c = Client()
    c.force_login(parent_user)
    return c


def login(company, role="admin") -> Client:
    c = Client()
    c.force_login(factories.user(company, roles=[factories.system_role(role)]))
    return c


def pending(company, **fields):
    fields.setdefault("recipients", dict(RECIPIENTS))
    return bf.broadcast(company, status=S.ON_MODERATION, **fields)


def queue_ids(response) -> list[int]:
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', response.content.decode())]


def cells(response, column):
    html = response.content.decode()
    texts = [re.sub(r"<[^>]+>", " ", part.split(">", 1)[1].split("</td>", 1)[0])
             for part in html.split(f'<td data-column="{column}"')[1:]]
    return [" ".join(t.split()) for t in texts]


def menu_keys(client) -> list[str]:
    html = client.get("/dashboard/").content.decode()
    return [part.split('"', 1)[0] for part in html.split('data-menu="')[1:]]


# --- the queue -----------------------------------------------------------------------------------

def test_the_queue_lists_the_direct_childrens_broadcasts_on_moderation_only(family, parent_client, child_user):
    target = Target.objects.create(company=family["child"], name="Spain", filters=[])
    tag = Tag.objects.create(company=family["child"], name="vip")
    mine = pending(family["child"], name="Spring sale", created_by=child_user,
                   recipients={"targets": [target.pk], "tags": [tag.pk], "phones": ["+34612345678", "+34612345679"]},
                   steps=[bf.step(Channel.SMS), bf.step(Channel.VIBER, sender="ViberAcme")],
                   scheduled_for=datetime.datetime(2030, 3, 1, 9, 0, tzinfo=datetime.UTC))
    siblings = pending(family["sibling"], name="Sibling sale")
    bf.broadcast(family["child"], name="A draft", status=S.DRAFT)
    bf.broadcast(family["child"], name="Running", status=S.IN_PROGRESS)
    pending(family["parent"], name="The reseller's own")  # moderated by ITS parent, not by itself
    pending(family["grandchild"], name="Grandchild's")  # its own parent (the child) moderates it
    pending(family["unrelated"], name="Unrelated")

    response = parent_client.get(QUEUE)
    assert sorted(queue_ids(response)) == sorted([mine.pk, siblings.pk])
    html = response.content.decode()
    headers = re.findall(r'<th scope="col" data-column="([a-z_]+)"', html)
    assert headers == ["company", "name", "created_by", "submitted", "recipients", "steps", "scheduled_for"]
    row = queue_ids(response).index(mine.pk)
    assert cells(response, "company")[row] == "Acme Client"
    assert cells(response, "name")[row] == "Spring sale"
    assert cells(response, "created_by")[row] == "Carl Client"
    assert cells(response, "recipients")[row] == "Targets: Spain · Tags: vip · 2 typed numbers"
    assert cells(response, "steps")[row] == "SMS → Viber"
    assert cells(response, "scheduled_for")[row] == "01.03.2030 10:00:00"  # the reseller's time zone (Madrid)
    assert cells(response, "scheduled_for")[1 - row] == "Instantly"
    assert 'data-count="broadcasts">2<' in html


def test_the_queue_query_count_does_not_grow_with_rows(family, parent_client, django_assert_max_num_queries):
    def add(company, n):
        target = Target.objects.create(company=company, name=f"T{n}", filters=[])
        tag = Tag.objects.create(company=company, name=f"tag{n}")
        creator = factories.user(company)
        pending(company, created_by=creator, recipients={"targets": [target.pk], "tags": [tag.pk], "phones": []})

    add(family["child"], 0)
    parent_client.get(QUEUE)  # the session's first request also writes the session
    with CaptureQueriesContext(connection) as one:
        assert len(queue_ids(parent_client.get(QUEUE))) == 1
    assert len(one.captured_queries) <= 11  # session, user, company, roles, table (count, prefs, rows), names, badges
    for n in range(1, 5):
        add(family["child"] if n % 2 else family["sibling"], n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = parent_client.get(QUEUE)
    assert len(queue_ids(response)) == 5
    assert sorted(cells(response, "recipients")) == [f"Targets: T{n} · Tags: tag{n}" for n in range(5)]


def test_the_queue_exports(family, parent_client):
    pending(family["child"], name="Spring sale")
    response = parent_client.get(QUEUE, {"export": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Acme Client" in body and "Spring sale" in body


# --- review, approve, reject ---------------------------------------------------------------------

def test_the_review_page_shows_the_definition_read_only(family, parent_client, child_user):
    tag = Tag.objects.create(company=family["child"], name="vip")
    email = {"subject": "Spring is here", "html": "<p>Hello <b>spring</b></p>", "text": "Hello spring"}
    b = pending(family["child"], name="Spring sale", description="For the spring", created_by=child_user,
                recipients={"targets": [], "tags": [tag.pk], "phones": ["+34612345678"]},
                steps=[bf.step(Channel.SMS, sender="ACME", text="Hi {{attribute.name}}, 20% off!"),
                       bf.step(Channel.EMAIL, sender="news@acme.test", content=email)])
    response = parent_client.get(f"{QUEUE}{b.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="review-name">Spring sale<' in html
    assert 'data-fact="company">Acme Client<' in html
    assert 'data-fact="created_by">Carl Client<' in html
    assert "For the spring" in html
    assert re.search(r'data-fact="scheduled_for">Instantly, once approved<', html)
    recipients = html.split('data-fact="recipients">', 1)[1].split("</dd>", 1)[0]
    assert "vip" in recipients and "1 typed number" in recipients and "1 recipient now" in recipients
    steps = re.findall(r'data-step-channel>([^<]+)<', html)
    assert steps == ["SMS", "Email"]
    assert re.findall(r"data-step-sender>([^<]+)<", html) == ["ACME", "news@acme.test"]
    assert "Hi {{attribute.name}}, 20% off!" in html
    assert "data-step-subject>Spring is here<" in html
    assert 'sandbox=""' in html and "&lt;b&gt;spring&lt;/b&gt;" in html  # the e-mail in a sandboxed frame
    assert 'data-action="approve"' in html and 'data-action="reject"' in html
    assert 'name="name"' not in html  # nothing to edit


def test_approve_launches_now_and_records_the_moderator(family, parent_client, parent_user):
    b = pending(family["child"], name="Spring sale")
    response = parent_client.post(f"{QUEUE}{b.pk}/approve/", follow=True)
    assert response.redirect_chain[-1][0] == QUEUE
    b.refresh_from_db()
    assert b.status == S.IN_PROGRESS and b.launched_at is not None
    assert b.moderated_by == parent_user and b.moderated_at is not None
    html = response.content.decode()
    assert "Broadcast “Spring sale” of Acme Client approved and launched." in html
    assert b.pk not in queue_ids(response)
    event = AuditEvent.objects.get(company=family["child"], action="Approved broadcast")
    assert event.user == parent_user


def test_approve_of_a_broadcast_with_a_launch_time_ahead_schedules_it(family, parent_client):
    when = timezone.now() + datetime.timedelta(days=2)
    b = pending(family["child"], name="Later", scheduled_for=when)
    response = parent_client.post(f"{QUEUE}{b.pk}/approve/", follow=True)
    b.refresh_from_db()
    assert b.status == S.SCHEDULED and b.launched_at is None
    assert "approved: it launches at" in response.content.decode()


def test_reject_with_a_note_is_shown_to_the_childs_user(family, parent_client, parent_user, child_user):
    b = pending(family["child"], name="Spring sale", created_by=child_user)
    response = parent_client.post(f"{QUEUE}{b.pk}/reject/", {"note": "  The price is wrong.  "}, follow=True)
    assert response.redirect_chain[-1][0] == QUEUE
    assert "Broadcast “Spring sale” of Acme Client rejected." in response.content.decode()
    b.refresh_from_db()
    assert b.status == S.REJECTED and b.moderation_note == "The price is wrong."
    assert b.moderated_by == parent_user
    child = Client()
    child.force_login(child_user)
    for url in (f"/broadcasts/{b.pk}/", f"/broadcasts/{b.pk}/edit/"):
        html = child.get(url).content.decode()
        note = html.split('data-testid="moderation-note">', 1)[1].split("</div>", 1)[0]
        assert note == "Rejected by moderation. The price is wrong.", url


@pytest.mark.parametrize("note", ["", "   "])
def test_reject_without_a_note_is_refused_and_changes_nothing(family, parent_client, note):
    b = pending(family["child"], name="Spring sale")
    response = parent_client.post(f"{QUEUE}{b.pk}/reject/", {"note": note})
    assert response.status_code == 422
    assert "Say why it is rejected: the company that sent it reads this note." in response.content.decode()
    b.refresh_from_db()
    assert b.status == S.ON_MODERATION and b.moderation_note == "" and b.moderated_by is None


def test_a_broadcast_moderated_meanwhile_says_why_and_stays(family, parent_client):
    b = pending(family["child"], name="Spring sale")
    parent_client.post(f"{QUEUE}{b.pk}/approve/")
    response = parent_client.post(f"{QUEUE}{b.pk}/reject/", {"note": "Too late"}, follow=True)
    html = response.content.decode()
    assert "cannot be rejected" in html
    assert 'data-testid="already-moderated"' in html and 'data-action="approve"' not in html
    b.refresh_from_db()
    assert b.status == S.IN_PROGRESS and b.moderation_note == ""


def test_actions_are_post_only_and_need_the_csrf_token(family, parent_user):
    b = pending(family["child"])
    c = Client(enforce_csrf_checks=True)
    c.force_login(parent_user)
    assert c.get(f"{QUEUE}{b.pk}/approve/").status_code == 405
    assert c.post(f"{QUEUE}{b.pk}/approve/").status_code == 403
    assert c.post(f"{QUEUE}{b.pk}/reject/", {"note": "No"}).status_code == 403
    b.refresh_from_db()
    assert b.status == S.ON_MODERATION


# --- tenant isolation and permissions ------------------------------------------------------------

@pytest.mark.parametrize("who", ["sibling", "child", "grandparent", "unrelated"])
def test_no_other_company_sees_or_moderates_the_childs_broadcast(family, who):
    b = pending(family["child"], name="Spring sale")
    t = bf.template(family["child"], name="Weekly", moderation=ModerationState.PENDING)
    client = login(family[who])
    assert b.pk not in queue_ids(client.get(QUEUE))
    assert t.pk not in queue_ids(client.get(TEMPLATE_QUEUE))
    assert "Spring sale" not in client.get(QUEUE).content.decode()
    assert client.get(f"{QUEUE}{b.pk}/").status_code == 404
    assert client.post(f"{QUEUE}{b.pk}/approve/").status_code == 404
    assert client.post(f"{QUEUE}{b.pk}/reject/", {"note": "No"}).status_code == 404
    assert client.get(f"{TEMPLATE_QUEUE}{t.pk}/").status_code == 404
    assert client.post(f"{TEMPLATE_QUEUE}{t.pk}/approve/").status_code == 404
    assert client.post(f"{TEMPLATE_QUEUE}{t.pk}/reject/", {"note": "No"}).status_code == 404
    b.refresh_from_db()
    t.refresh_from_db()
    assert b.status == S.ON_MODERATION and b.moderated_by is None
    assert t.moderation == ModerationState.PENDING


def test_the_grandchilds_broadcast_is_not_the_grandparents_nor_the_parents(family, parent_client):
    b = pending(family["grandchild"], name="Deep")
    assert parent_client.get(f"{QUEUE}{b.pk}/").status_code == 404
    assert login(family["grandparent"]).get(f"{QUEUE}{b.pk}/").status_code == 404
    # …but the grandchild's own parent (the child company) moderates it
    assert b.pk in queue_ids(login(family["child"]).get(QUEUE))


def test_a_draft_of_a_child_is_not_open_to_the_parent(family, parent_client):
    draft = bf.broadcast(family["child"], name="Secret draft", status=S.DRAFT)
    assert parent_client.get(f"{QUEUE}{draft.pk}/").status_code == 404
    assert parent_client.post(f"{QUEUE}{draft.pk}/approve/").status_code == 404


def test_moderation_needs_the_manage_broadcasts_permission(family):
    b = pending(family["child"])
    finance = login(family["parent"], "finance_manager")
    assert finance.get(QUEUE).status_code == 403
    assert finance.get(f"{QUEUE}{b.pk}/").status_code == 403
    assert finance.post(f"{QUEUE}{b.pk}/approve/").status_code == 403
    b.refresh_from_db()
    assert b.status == S.ON_MODERATION
    manager = login(family["parent"], "broadcast_manager")
    assert b.pk in queue_ids(manager.get(QUEUE))
    assert manager.post(f"{QUEUE}{b.pk}/approve/").status_code == 302


# --- the menu ------------------------------------------------------------------------------------

def test_the_menu_entry_shows_for_parent_companies_only(family):
    assert "moderation" in menu_keys(login(family["parent"]))
    assert "moderation" in menu_keys(login(family["parent"], "broadcast_manager"))
    assert "moderation" in menu_keys(login(family["child"]))  # it has a child company (the grandchild)
    assert "moderation" not in menu_keys(login(family["parent"], "finance_manager"))
    assert "moderation" not in menu_keys(login(family["sibling"]))  # no child company
    assert "moderation" not in menu_keys(login(family["unrelated"]))


def test_on_the_moderation_page_only_its_menu_entry_is_active(family, parent_client):
    html = parent_client.get(QUEUE).content.decode()
    active = re.findall(r'class="menu-item is-active" data-menu="([a-z_]+)"', html)
    assert active == ["moderation"]
    html = parent_client.get("/broadcasts/").content.decode()
    assert re.findall(r'class="menu-item is-active" data-menu="([a-z_]+)"', html) == ["broadcasts"]


# --- templates -----------------------------------------------------------------------------------

def test_templates_waiting_for_moderation_are_listed_approved_and_rejected(family, parent_client, parent_user,
                                                                            child_user):
    t = bf.template(family["child"], name="Weekly news", moderation=ModerationState.PENDING, created_by=child_user,
                    recipients=dict(RECIPIENTS))
    other = bf.template(family["sibling"], name="Sibling's", moderation=ModerationState.PENDING,
                        recipients=dict(RECIPIENTS))
    bf.template(family["child"], name="Unmoderated draft")
    bf.template(family["child"], name="Approved already", moderation=ModerationState.APPROVED)
    response = parent_client.get(TEMPLATE_QUEUE)
    assert sorted(queue_ids(response)) == sorted([t.pk, other.pk])
    assert 'data-count="templates">2<' in response.content.decode()

    review = parent_client.get(f"{TEMPLATE_QUEUE}{t.pk}/").content.decode()
    assert 'data-testid="review-name">Weekly news<' in review and 'data-fact="schedule">No schedule' in review

    response = parent_client.post(f"{TEMPLATE_QUEUE}{t.pk}/approve/", follow=True)
    assert "Template “Weekly news” of Acme Client approved." in response.content.decode()
    t.refresh_from_db()
    assert t.moderation == ModerationState.APPROVED
    assert AuditEvent.objects.get(company=family["child"], action="Approved broadcast template").user == parent_user

    refused = parent_client.post(f"{TEMPLATE_QUEUE}{other.pk}/reject/", {"note": ""})
    assert refused.status_code == 422
    parent_client.post(f"{TEMPLATE_QUEUE}{other.pk}/reject/", {"note": "Wrong sender."})
    other.refresh_from_db()
    assert other.moderation == ModerationState.REJECTED and other.moderation_note == "Wrong sender."
    assert queue_ids(parent_client.get(TEMPLATE_QUEUE)) == []
    sibling_user = factories.user(family["sibling"])
    c = Client()
    c.force_login(sibling_user)
    html = c.get(f"/broadcasts/templates/{other.pk}/edit/").content.decode()
    assert "Rejected by moderation. Wrong sender." in html


def test_a_scheduled_templates_review_shows_its_next_launches(family, parent_client):
    start = timezone.now() + datetime.timedelta(days=1)
    t = bf.template(family["child"], name="Daily", moderation=ModerationState.PENDING, is_scheduled=True,
                    frequency="daily", time_of_day=datetime.time(9, 0), effective_from=start)
    html = parent_client.get(f"{TEMPLATE_QUEUE}{t.pk}/").content.decode()
    assert 'data-fact="schedule">Daily' in html
    launches = html.split('data-fact="next_launches">', 1)[1].split("</dd>", 1)[0]
    assert launches.count('class="chip"') == 3

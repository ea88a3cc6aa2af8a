"""The *Templates* tab (spec P§4.4–§4.6): the table (columns, actions per schedule status,
Next launch, filters, export, query count), the form with the schedule editor and its
*Next launches* preview, every action, moderation buttons, other companies' templates
(404) and users without *Manage Broadcasts* (403)."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from broadcasts.models import Broadcast, BroadcastTemplate, LaunchType, ModerationState, ScheduleStatus
from broadcasts.services import templates as svc
from broadcasts.tests import factories as bf
from contacts.models import Target
from messaging.tests import factories as mf
from portal.audit import Actor
from portal.testing import factories

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
LIST = reverse("broadcasts:templates")
NEW = reverse("broadcasts:template_create")
PREVIEW = reverse("broadcasts:template_schedule_preview")
ACTIONS = ("launch", "pause", "resume", "copy", "delete")


def url(name, template):
    return reverse(f"broadcasts:template_{name}", args=[template.pk])


@pytest.fixture
def company(company):
    company.time_zone = "Europe/Madrid"
    company.save(update_fields=["time_zone"])
    return company


@pytest.fixture
def setup(company):
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    return mf.contacts(company, 3)


def post_data(**changes):
    """What the form posts: a weekly template (Monday, Thursday at 09:00) with one SMS step."""
    data = {"name": "Weekly news", "description": "Every Monday and Thursday", "type": "fallback",
            "phones": "+34600000000, +34600000001", "step": ["s1"], "step-s1-channel": "1",
            "step-s1-sender": "HERALD", "step-s1-wait_for": "delivery", "step-s1-wait_value": "10",
            "step-s1-wait_unit": "minutes", "step-s1-content": '{"text": "Hi {{attribute.name}}"}',
            "is_scheduled": "on", "frequency": "weekly", "weekdays": ["0", "3"], "month_day": "",
            "time_of_day": "09:00", "effective_from": "", "effective_till": "", "action": "save"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def scheduled(company, **fields):
    base = {"recipients": {"targets": [], "tags": [], "phones": ["+34600000000"]}, "is_scheduled": True,
            "frequency": "daily", "time_of_day": dt.time(9, 0)}
    base.update(fields)
    return bf.template(company, **base)


def local_text(value):
    return timezone.localtime(value, MADRID).strftime("%d.%m.%Y %H:%M:%S")


def row_of(html, template):
    match = re.search(rf'<tr[^>]*data-id="{template.pk}".*?</tr>', html, re.S)
    assert match, f"no row for template {template.pk}"
    return match.group(0)


# --- the table -----------------------------------------------------------------------------------

def test_the_table_shows_the_spec_columns_and_tabs(admin_client, company):
    response = admin_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    headers = re.findall(r'<th scope="col" data-column="[^"]+">(?:<a [^>]*>)?([^<]+?)\s*(?:<|$)', html)
    assert headers == ["ID", "Name", "Type", "Launches", "Last launch", "Target", "Schedule", "Schedule status",
                       "Next launch", "Effective from", "Effective till"]
    assert 'data-nav="templates" class="is-active"' in html
    assert reverse("broadcasts:list") in html and "New Template" in html


def test_rows_show_their_schedule_and_the_actions_it_allows(admin_client, company):
    now = timezone.now()
    target = Target.objects.create(company=company, name="Spain", filters=[])
    active = scheduled(company, name="Active one", next_launch_at=now + dt.timedelta(hours=5),
                       last_launch_at=now - dt.timedelta(days=1), launches=4,
                       recipients={"targets": [target.pk], "tags": [], "phones": []},
                       effective_from=now - dt.timedelta(days=10), effective_till=now + dt.timedelta(days=30))
    paused = scheduled(company, name="Paused one", schedule_status=ScheduleStatus.PAUSED,
                       last_launch_at=now - dt.timedelta(days=2))
    expired = scheduled(company, name="Expired one", schedule_status=ScheduleStatus.EXPIRED,
                        last_launch_at=now - dt.timedelta(days=3))
    manual = bf.template(company, name="Manual one")
    html = admin_client.get(LIST).content.decode()

    row = row_of(html, active)
    assert 'data-schedule-status="active"' in row and 'data-target="true"' in row and 'data-schedule="true"' in row
    assert local_text(active.next_launch_at) in row  # Next launch: the next occurrence
    assert local_text(active.effective_from) in row and local_text(active.effective_till) in row
    assert ">4<" in row and local_text(active.last_launch_at) in row
    assert 'data-action="pause-schedule"' in row and 'data-action="resume-schedule"' not in row

    row = row_of(html, paused)
    assert 'data-schedule-status="paused"' in row and 'data-target="false"' in row
    assert row.count(local_text(paused.last_launch_at)) == 2  # Last launch and Next launch (not active)
    assert 'data-action="resume-schedule"' in row and 'data-action="pause-schedule"' not in row

    row = row_of(html, expired)
    assert 'data-schedule-status="expired"' in row and 'data-action="pause-schedule"' in row

    row = row_of(html, manual)
    assert 'data-schedule="false"' in row and 'data-schedule-status=""' in row
    assert "pause-schedule" not in row and "resume-schedule" not in row
    for r in (row_of(html, t) for t in (active, paused, expired, manual)):
        for action in ("edit", "copy", "launch", "delete"):
            assert f'data-action="{action}"' in r


def test_filters_and_sorting(admin_client, company):
    now = timezone.now()
    target = Target.objects.create(company=company, name="Spain", filters=[])
    a = scheduled(company, name="Alpha", next_launch_at=now + dt.timedelta(days=2),
                  recipients={"targets": [target.pk], "tags": [], "phones": []})
    b = scheduled(company, name="Beta", next_launch_at=now + dt.timedelta(days=1))
    c = scheduled(company, name="Gamma", schedule_status=ScheduleStatus.PAUSED)
    d = bf.template(company, name="Delta")

    def ids(query):
        html = admin_client.get(LIST + query).content.decode()
        return [int(i) for i in re.findall(r'<tr[^>]*data-id="(\d+)"', html)]

    assert ids("?target=true") == [a.pk]
    assert set(ids("?target=false")) == {b.pk, c.pk, d.pk}
    assert ids("?schedule_status=paus") == [c.pk]
    assert set(ids("?schedule_status=activ")) == {a.pk, b.pk}  # not the unscheduled one
    assert ids("?schedule_status__empty=true") == [d.pk]
    assert ids("?is_scheduled=false") == [d.pk]
    assert ids("?schedule_status=activ&sort=next_launch") == [b.pk, a.pk]  # ascending: the soonest first
    assert ids("?schedule_status=activ&sort=-next_launch") == [a.pk, b.pk]
    assert ids("?name=gam") == [c.pk]


def test_the_table_query_count_does_not_grow_with_rows(admin_client, company, django_assert_max_num_queries):
    for i in range(30):
        scheduled(company, name=f"T{i}", next_launch_at=timezone.now() + dt.timedelta(hours=i))
    admin_client.get(LIST)  # the session's first request also writes the session
    with django_assert_max_num_queries(8):
        response = admin_client.get(LIST)
    assert response.content.decode().count('data-action="launch"') == 30


def test_export_csv_in_the_company_zone(admin_client, company):
    t = scheduled(company, name="=Formula", next_launch_at=dt.datetime(2024, 5, 2, 7, 0, tzinfo=dt.UTC))
    response = admin_client.get(LIST + "?export=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Next launch" in body.splitlines()[0]
    line = next(row for row in body.splitlines() if row.startswith(str(t.pk)))
    assert "02.05.2024 09:00:00" in line and "'=Formula" in line and "Active" in line


# --- the form ------------------------------------------------------------------------------------

def test_new_template_page(admin_client, setup, company):
    html = admin_client.get(NEW).content.decode()
    assert 'name="is_scheduled"' in html and 'name="weekdays"' in html and 'name="time_of_day"' in html
    assert "Europe/Madrid" in html and 'data-action="save"' in html and "Send to moderation" not in html
    assert reverse("broadcasts:step_form") in html and 'name="phones"' in html


def test_create_a_weekly_template(admin_client, setup, company):
    response = admin_client.post(NEW, post_data())
    assert response.status_code == 302 and response.url == LIST
    t = BroadcastTemplate.objects.get()
    assert (t.name, t.frequency, t.weekdays, t.time_of_day) == ("Weekly news", "weekly", [0, 3], dt.time(9, 0))
    assert t.recipients["phones"] == ["+34600000000", "+34600000001"]
    assert t.steps[0]["sender"] == "HERALD" and t.steps[0]["content"] == {"text": "Hi {{attribute.name}}"}
    local = timezone.localtime(t.next_launch_at, MADRID)
    assert local.weekday() in (0, 3) and local.time() == dt.time(9, 0)
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [f"Template “Weekly news” saved; next launch {local_text(t.next_launch_at)}."]


def test_effective_dates_are_typed_in_the_company_zone(admin_client, setup, company):
    admin_client.post(NEW, post_data(effective_from="2030-03-01T08:00", effective_till="2030-07-01T20:30"))
    t = BroadcastTemplate.objects.get()
    assert t.effective_from == dt.datetime(2030, 3, 1, 8, 0, tzinfo=MADRID)
    assert t.effective_till == dt.datetime(2030, 7, 1, 20, 30, tzinfo=MADRID)
    html = admin_client.get(url("edit", t)).content.decode()
    assert 'value="2030-03-01T08:00"' in html and 'value="2030-07-01T20:30"' in html


@pytest.mark.parametrize("changes, message", [
    ({"weekdays": None}, "Choose at least one weekday."),
    ({"time_of_day": ""}, "Choose the time of the launches."),
    ({"frequency": "monthly", "month_day": "40"}, "The day of the month is 1 to 31"),
    ({"effective_from": "2030-05-01T00:00", "effective_till": "2030-04-01T00:00"},
     "Effective till must be after Effective from."),
    ({"step-s1-sender": ""}, "Choose the sender ID of step 1 (SMS)"),
    ({"name": ""}, "Give the broadcast a name."),
    ({"step-s1-wait_value": "abc"}, "Give the waiting time as a number of minutes or hours."),
])
def test_invalid_input_is_shown_next_to_its_field_and_nothing_saved(admin_client, setup, company, changes,
                                                                     message):
    response = admin_client.post(NEW, post_data(**changes))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not BroadcastTemplate.objects.exists()


def test_edit_shows_the_template_and_saves_changes(admin_client, setup, company):
    admin_client.post(NEW, post_data())
    t = BroadcastTemplate.objects.get()
    html = admin_client.get(url("edit", t)).content.decode()
    assert 'value="Weekly news"' in html and 'value="09:00"' in html
    assert re.search(r'name="weekdays" value="0" checked', html) and re.search(r'name="weekdays" value="3" checked',
                                                                               html)
    assert not re.search(r'name="weekdays" value="1" checked', html)
    assert html.count("data-launch=") == 3  # the preview of the stored schedule
    response = admin_client.post(url("edit", t), post_data(name="Monthly news", frequency="monthly", month_day="31",
                                                           weekdays=None, time_of_day="18:30"))
    assert response.status_code == 302
    t.refresh_from_db()
    assert (t.name, t.frequency, t.month_day, t.weekdays) == ("Monthly news", "monthly", 31, [])
    assert timezone.localtime(t.next_launch_at, MADRID).time() == dt.time(18, 30)


def test_a_template_without_schedule_needs_no_sender(admin_client, setup, company):
    response = admin_client.post(NEW, post_data(is_scheduled=None, **{"step-s1-sender": ""}))
    assert response.status_code == 302
    t = BroadcastTemplate.objects.get()
    assert not t.is_scheduled and t.next_launch_at is None


def test_moderated_company_gets_save_as_draft_and_send_to_moderation(admin_client, setup, company):
    company.moderation = True
    company.save(update_fields=["moderation"])
    html = admin_client.get(NEW).content.decode()
    assert "Save as draft" in html and "Send to moderation" in html and 'data-action="save"' not in html
    admin_client.post(NEW, post_data(action="submit"))
    t = BroadcastTemplate.objects.get()
    assert t.moderation == ModerationState.PENDING
    assert "On moderation: the template launches once it is approved." in admin_client.get(
        url("edit", t)).content.decode()
    admin_client.post(url("edit", t), post_data(action="draft"))
    t.refresh_from_db()
    assert t.moderation == ModerationState.NONE


# --- the Next launches preview -------------------------------------------------------------------

def test_preview_lists_the_next_three_launches_in_the_company_zone(admin_client, setup, company):
    response = admin_client.post(PREVIEW, post_data(frequency="daily", time_of_day="21:59", weekdays=None))
    html = response.content.decode()
    launches = re.findall(r'data-launch="([^"]+)">(\w+) (\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d)<', html)
    assert len(launches) == 3
    for iso, weekday, text in launches:
        at = dt.datetime.fromisoformat(iso)
        assert at > timezone.now() and text == local_text(at) and text.endswith("21:59:00")
        assert weekday == timezone.localtime(at, MADRID).strftime("%a")
    days = [dt.datetime.fromisoformat(i).astimezone(MADRID).date() for i, _w, _t in launches]
    assert days[1] - days[0] == dt.timedelta(days=1) == days[2] - days[1]


def test_preview_says_what_is_wrong_or_that_there_is_no_schedule(admin_client, setup, company):
    html = admin_client.post(PREVIEW, post_data(weekdays=None)).content.decode()
    assert "Choose at least one weekday." in html and "data-launch" not in html
    html = admin_client.post(PREVIEW, post_data(is_scheduled=None)).content.decode()
    assert "No schedule: the template launches only when you launch it manually." in html


# --- actions -------------------------------------------------------------------------------------

def _messages(response):
    return [str(m) for m in response.wsgi_request._messages]


def test_launch_manually_makes_a_manual_run(admin_client, setup, company):
    admin_client.post(NEW, post_data())
    t = BroadcastTemplate.objects.get()
    response = admin_client.post(url("launch", t))
    run = Broadcast.objects.get()
    assert response.status_code == 302 and response.url == LIST
    assert _messages(response)[-1] == f"Template “Weekly news” launched: broadcast {run.pk}."
    assert run.launch_type == LaunchType.MANUAL and run.template_id == t.pk
    t.refresh_from_db()
    assert t.launches == 1 and t.last_launch_at is not None
    row = row_of(admin_client.get(LIST).content.decode(), t)
    assert ">1<" in row and local_text(t.last_launch_at) in row


def test_a_refused_launch_says_why(admin_client, setup, company):
    t = bf.template(company, name="Empty", recipients={"targets": [], "tags": [], "phones": []})
    response = admin_client.post(url("launch", t))
    assert response.status_code == 302
    assert _messages(response) == ["“Empty”: Choose the recipients: targets, tags or phone numbers."]
    assert not Broadcast.objects.exists()


def test_pause_and_resume_schedule(admin_client, setup, company):
    t = svc.create_template(actor=Actor.system(company), company=company, data={
        "name": "Daily", "recipients": {"phones": ["+34600000000"]}, "steps": [bf.step()], "is_scheduled": True,
        "frequency": "daily", "time_of_day": dt.time(9, 0)})
    response = admin_client.post(url("pause", t))
    assert _messages(response) == ["Schedule of “Daily” paused."]
    t.refresh_from_db()
    assert t.schedule_status == ScheduleStatus.PAUSED
    response = admin_client.post(url("pause", t))  # already paused
    assert "cannot be paused" in _messages(response)[-1]
    response = admin_client.post(url("resume", t))
    t.refresh_from_db()
    assert t.schedule_status == ScheduleStatus.ACTIVE
    assert _messages(response)[-1] == f"Schedule of “Daily” resumed; next launch {local_text(t.next_launch_at)}."


def test_copy_opens_the_copy_with_its_schedule_paused(admin_client, setup, company):
    t = scheduled(company, name="Daily", next_launch_at=timezone.now() + dt.timedelta(hours=1))
    response = admin_client.post(url("copy", t))
    copy = BroadcastTemplate.objects.exclude(pk=t.pk).get()
    assert response.status_code == 302 and response.url == url("edit", copy)
    assert copy.name == "Daily (copy)" and copy.schedule_status == ScheduleStatus.PAUSED
    assert "Its schedule is paused" in _messages(response)[0]


def test_delete(admin_client, setup, company):
    t = bf.template(company, name="Old")
    response = admin_client.post(url("delete", t))
    assert _messages(response) == ["Template “Old” deleted."]
    assert not BroadcastTemplate.objects.exists()


def test_actions_need_post(admin_client, company):
    t = bf.template(company)
    for action in ACTIONS:
        assert admin_client.get(url(action, t)).status_code == 405


# --- tenancy and permissions ---------------------------------------------------------------------

def test_another_companys_template_is_a_404_everywhere(admin_client, setup, company, other_company):
    theirs = bf.template(other_company, name="Theirs", is_scheduled=True, frequency="daily",
                         time_of_day=dt.time(9, 0), schedule_status=ScheduleStatus.PAUSED)
    assert admin_client.get(url("edit", theirs)).status_code == 404
    assert admin_client.post(url("edit", theirs), post_data()).status_code == 404
    for action in ACTIONS:
        assert admin_client.post(url(action, theirs)).status_code == 404, action
    theirs.refresh_from_db()
    assert theirs.name == "Theirs" and theirs.schedule_status == ScheduleStatus.PAUSED and theirs.launches == 0
    assert not Broadcast.objects.exists() and BroadcastTemplate.objects.count() == 1
    assert "Theirs" not in admin_client.get(LIST).content.decode()


def test_without_manage_broadcasts_every_page_is_forbidden(client, company):
    user = factories.user(company, roles=[factories.system_role("finance_manager")])
    client.force_login(user)
    t = bf.template(company)
    for path in (LIST, NEW, url("edit", t)):
        assert client.get(path).status_code == 403, path
    assert client.post(NEW, post_data()).status_code == 403
    assert client.post(PREVIEW, post_data()).status_code == 403
    for action in ACTIONS:
        assert client.post(url(action, t)).status_code == 403, action
    assert BroadcastTemplate.objects.count() == 1 and not Broadcast.objects.exists()


def test_signed_out_users_go_to_the_login(client, company):
    response = client.get(LIST)
    assert response.status_code == 302 and reverse("login") in response.url

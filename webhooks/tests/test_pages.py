"""The webhook pages: delivery log (filters, export, constant query count), event detail,
replay, replay since, endpoints, signing secret; permission and tenant isolation."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditDetail, AuditEvent
from webhooks import services
from webhooks.models import Delivery, Endpoint, Event, EventState, WebhookSecret
from webhooks.tests.conftest import Reply


def emit(company, url="https://crm.example.com/hook", event_type="message.status"):
    return services.emit(company=company, event_type=event_type, data={"status": "delivered"}, url=url)


def logged(event, status, error=""):
    n = event.attempts + 1
    Delivery.objects.create(event=event, attempt=n, url=event.endpoint.url, status_code=status, duration_ms=12,
                            error=error, response_excerpt="upstream said no", finished_at=timezone.now())
    Event.objects.filter(pk=event.pk).update(attempts=n, last_status_code=status)


def test_the_log_lists_the_company_events(admin_client, company, other_company):
    mine = emit(company)
    logged(mine, 500)
    inbound = emit(company, "https://other.example.com/in", "message.inbound")
    foreign = emit(other_company, "https://globex.example.com/hook")
    html = admin_client.get(reverse("webhooks:log")).content.decode()
    assert mine.pk in html and inbound.pk in html and foreign.pk not in html
    assert "https://crm.example.com/hook" in html and "message.inbound" in html
    assert 'data-testid="rows-info" data-total="2"' in html
    filtered = admin_client.get(reverse("webhooks:log"), {"type": "inbound"}).content.decode()
    assert inbound.pk in filtered and mine.pk not in filtered
    by_code = admin_client.get(reverse("webhooks:log"), {"last_status_code": 500}).content.decode()
    assert mine.pk in by_code and inbound.pk not in by_code


def test_the_log_query_count_does_not_grow_with_rows(admin_client, company):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(reverse("webhooks:log")).status_code == 200
        return len(ctx)

    emit(company)
    count()  # warm-up: the first request of a session does one-off work
    few = count()
    for i in range(25):
        logged(emit(company, f"https://e{i}.example.com/h"), 200)
    assert count() == few


def test_the_log_exports_csv(admin_client, company, other_company):
    event = emit(company)
    emit(other_company)
    response = admin_client.get(reverse("webhooks:log"), {"export": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200 and event.pk in body and body.count("msg_") == 1


def test_event_detail_shows_payload_and_attempts(admin_client, company):
    event = emit(company)
    logged(event, 503, "")
    Delivery.objects.create(event=event, attempt=2, url=event.endpoint.url, error="No answer within 15 seconds.",
                            duration_ms=15000, finished_at=timezone.now())
    html = admin_client.get(reverse("webhooks:event", args=[event.pk])).content.decode()
    assert "&quot;status&quot;: &quot;delivered&quot;" in html  # the pretty-printed payload
    assert 'data-attempt="1"' in html and "503" in html and "upstream said no" in html
    assert 'data-attempt="2"' in html and "No answer within 15 seconds." in html


def test_replay_button_sends_the_event_again(admin_client, company, receiver, settings,
                                             django_capture_on_commit_callbacks):
    settings.HERALD_WEBHOOKS_ALLOW_PRIVATE = True
    receiver.reply(Reply(500))
    event = emit(company, receiver.url())
    services.deliver(event)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("webhooks:replay", args=[event.pk]))
    assert response.status_code == 302
    html = admin_client.get(response.url).content.decode()
    assert "is being sent again" in html
    assert 'data-attempt="2"' in html and len(receiver.received) == 2
    assert Event.objects.get(pk=event.pk).state == EventState.DELIVERED


def test_replay_of_a_disabled_endpoint_explains_why_not(admin_client, company, actor):
    event = emit(company)
    services.disable_endpoint(actor=actor, endpoint=event.endpoint)
    html = admin_client.post(reverse("webhooks:replay", args=[event.pk]), follow=True).content.decode()
    assert "is disabled: enable it before replaying its events" in html
    assert Event.objects.get(pk=event.pk).state == EventState.DISABLED


def test_replay_since_form(admin_client, company):
    event = emit(company)
    Event.objects.filter(pk=event.pk).update(state=EventState.FAILED, next_attempt_at=None)
    url = reverse("webhooks:replay_since")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"since": ""})
    assert response.status_code == 422 and "Enter the date and time to replay from." in response.content.decode()
    response = admin_client.post(url, {"since": "yesterday"})
    assert response.status_code == 422 and "Enter a date and time such as" in response.content.decode()
    future = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = admin_client.post(url, {"since": future})
    assert response.status_code == 422 and "in the future" in response.content.decode()
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = admin_client.post(url, {"since": since, "endpoint": event.endpoint_id}, follow=True)
    assert "1 webhook is being sent again." in response.content.decode()
    assert Event.objects.get(pk=event.pk).state == EventState.PENDING


def test_replay_since_does_not_accept_another_company_endpoint(admin_client, company, other_company):
    foreign = emit(other_company)
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = admin_client.post(reverse("webhooks:replay_since"), {"since": since, "endpoint": foreign.endpoint_id})
    assert response.status_code == 422 and "Choose one of your endpoints." in response.content.decode()
    assert Event.objects.get(pk=foreign.pk).state == EventState.PENDING and foreign.attempts == 0


def test_endpoints_page_enable_and_disable(admin_client, company, other_company, actor):
    event = emit(company)
    emit(other_company, "https://globex.example.com/hook")
    services.disable_endpoint(actor=actor, endpoint=event.endpoint)
    html = admin_client.get(reverse("webhooks:endpoints")).content.decode()
    assert "https://crm.example.com/hook" in html and "globex" not in html
    assert 'data-action="enable-endpoint"' in html
    html = admin_client.post(reverse("webhooks:endpoint_enable", args=[event.endpoint_id]),
                             follow=True).content.decode()
    assert "enabled" in html and "1 webhook was held while it was disabled" in html
    assert not Endpoint.objects.get(pk=event.endpoint_id).is_disabled
    admin_client.post(reverse("webhooks:endpoint_disable", args=[event.endpoint_id]))
    endpoint = Endpoint.objects.get(pk=event.endpoint_id)
    assert endpoint.is_disabled and "acme-admin" in endpoint.disabled_reason


def test_secret_is_masked_revealed_on_request_and_rotated(admin_client, company):
    html = admin_client.get(reverse("webhooks:secret")).content.decode()
    secret = WebhookSecret.objects.get(company=company).secret
    assert secret not in html and 'data-testid="masked-secret"' in html
    html = admin_client.post(reverse("webhooks:secret_reveal")).content.decode()
    assert f'data-testid="webhook-secret">{secret}<' in html
    html = admin_client.post(reverse("webhooks:secret_rotate"), follow=True).content.decode()
    assert "A new signing secret was created" in html
    ws = WebhookSecret.objects.get(company=company)
    assert ws.secret != secret and ws.previous_secret == secret and ws.rotated_at
    assert "also signed with the previous secret" in html
    audit = AuditEvent.objects.get(company=company, action="Rotated the webhook signing secret")
    detail = AuditDetail.objects.get(event=audit)
    assert secret not in str(detail.old_value) + str(detail.new_value)
    assert ws.secret not in str(detail.new_value)


PAGES = [("get", "webhooks:log", []), ("get", "webhooks:endpoints", []), ("get", "webhooks:secret", []),
         ("get", "webhooks:replay_since", []), ("post", "webhooks:secret_rotate", []),
         ("post", "webhooks:secret_reveal", [])]


@pytest.mark.parametrize("method,name,args", PAGES)
def test_pages_need_manage_api_accesses(finance_client, method, name, args):
    assert getattr(finance_client, method)(reverse(name, args=args)).status_code == 403


def test_event_actions_need_manage_api_accesses(finance_client, company):
    event = emit(company)
    assert finance_client.get(reverse("webhooks:event", args=[event.pk])).status_code == 403
    assert finance_client.post(reverse("webhooks:replay", args=[event.pk])).status_code == 403
    assert finance_client.post(reverse("webhooks:endpoint_disable", args=[event.endpoint_id])).status_code == 403
    assert not Endpoint.objects.get(pk=event.endpoint_id).is_disabled


def test_another_company_event_and_endpoint_are_not_found(admin_client, other_company, other_admin):
    from portal.audit import Actor

    foreign = emit(other_company)
    services.disable_endpoint(actor=Actor(user=other_admin, company=other_company), endpoint=foreign.endpoint)
    assert admin_client.get(reverse("webhooks:event", args=[foreign.pk])).status_code == 404
    assert admin_client.post(reverse("webhooks:replay", args=[foreign.pk])).status_code == 404
    assert admin_client.post(reverse("webhooks:endpoint_enable", args=[foreign.endpoint_id])).status_code == 404
    assert admin_client.post(reverse("webhooks:endpoint_disable", args=[foreign.endpoint_id])).status_code == 404
    assert Endpoint.objects.get(pk=foreign.endpoint_id).is_disabled
    assert Event.objects.get(pk=foreign.pk).attempts == 0


def test_another_company_secret_is_never_shown(admin_client, company, other_company):
    theirs = services.company_secret(other_company).secret
    html = admin_client.post(reverse("webhooks:secret_reveal")).content.decode()
    assert theirs not in html and services.company_secret(company).secret in html

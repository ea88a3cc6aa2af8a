"""Example bodies for the OpenAPI schema of the Broadcasts API (the same data as docs/api.md
§11). ``broadcasts/tests/test_api_schema.py`` checks that the response examples have exactly
the fields the serializers produce."""

SMS_STEP = {"channel": 1, "senderId": "ACME", "payload": {"text": "Hi {{attribute.name}}, 20% off this weekend."},
            "waitFor": "delivery", "timeout": 600}
VIBER_STEP = {"channel": 3, "senderId": "ACME", "payload": {"text": "Hi {{attribute.name}}, 20% off this weekend."},
              "waitFor": "delivery", "timeout": 3600}
RCS_STEP = {"channel": 2, "senderId": "acme_bot", "template": {"id": 17, "params": {"1": "20%"}},
            "waitFor": "display", "timeout": 1800}

CREATE_LAUNCH = {
    "name": "Weekend sale", "description": "Spring campaign, wave 1",
    "recipients": {"targets": [12], "tags": [3], "phones": ["+34612345678", "612 345 679"]},
    "steps": [VIBER_STEP, SMS_STEP], "launch": True,
}
CREATE_SCHEDULED = {
    "name": "Weekend sale (RCS)", "type": "fallback", "recipients": {"tags": [3]},
    "steps": [RCS_STEP, SMS_STEP], "rcsCheck": True, "launch": True, "scheduledFor": "2025-03-07T18:00:00+01:00",
}
CREATE_DRAFT = {"name": "Black Friday", "recipients": {"targets": [12]},
                "steps": [{"channel": 1, "payload": {"text": "Black Friday starts now!"}}]}
LAUNCH_SCHEDULED = {"scheduledFor": "2025-03-07T18:00:00+01:00"}


def _steps_out(*steps):
    out = []
    for number, step in enumerate(steps, start=1):
        out.append({"step": number, "channel": step["channel"], "senderId": step.get("senderId", ""),
                    "template": step.get("template"), "payload": step.get("payload"),
                    "waitFor": step.get("waitFor", "delivery"), "timeout": step.get("timeout", 600)})
    return out


def _step_stats(number, step, **figures):
    base = {"step": number, "channel": step["channel"], "senderId": step["senderId"], "waitFor": step["waitFor"],
            "timeout": step["timeout"], "sent": 0, "queued": 0, "submitted": 0, "delivered": 0, "seen": 0,
            "failed": 0, "skipped": 0, "late": 0}
    return {**base, **figures}


BROADCAST = {
    "id": 3071, "name": "Weekend sale", "description": "Spring campaign, wave 1", "type": "fallback",
    "recipients": {"targets": [12], "tags": [3], "phones": ["+34612345678", "+34612345679"], "relaunchOf": None},
    "steps": _steps_out(VIBER_STEP, SMS_STEP), "rcsCheck": False,
    "createdAt": "2025-03-02T17:04:11.272Z", "updatedAt": "2025-03-02T17:40:02.120Z",
    "status": "complete", "launch": "api", "templateId": None, "relaunchOf": None, "scheduledFor": None,
    "launchedAt": "2025-03-02T17:04:11.301Z", "finishedAt": "2025-03-02T17:40:02.118Z", "contacts": 1200,
    "recipientsResolved": True, "progress": {"successfulPct": 96.5, "unsuccessfulPct": 3.5, "donePct": 100.0},
    "actions": ["relaunch-failed"], "error": "", "moderationNote": "",
}
BROADCAST_DETAIL = {
    **BROADCAST,
    "statistics": {
        "total": 1200, "notInitiated": 0, "notInitiatedPct": 0.0, "initiated": 1200, "initiatedPct": 100.0,
        "successful": 1158, "successfulPct": 96.5, "unsuccessful": 42, "unsuccessfulPct": 3.5, "canceled": 0,
        "inProgress": 0,
        "steps": [
            _step_stats(1, VIBER_STEP, sent=1150, submitted=1150, delivered=1010, seen=640, failed=140, skipped=50,
                        late=6),
            _step_stats(2, SMS_STEP, sent=190, submitted=190, delivered=148, failed=42),
        ],
    },
}
_NO_STATS = {"total": 1200, "notInitiated": 1200, "notInitiatedPct": 100.0, "initiated": 0, "initiatedPct": 0.0,
             "successful": 0, "successfulPct": 0.0, "unsuccessful": 0, "unsuccessfulPct": 0.0, "canceled": 0,
             "inProgress": 0, "steps": [_step_stats(1, VIBER_STEP), _step_stats(2, SMS_STEP)]}
BROADCAST_LAUNCHED = {
    **BROADCAST, "status": "in_progress", "finishedAt": None, "recipientsResolved": False,
    "updatedAt": "2025-03-02T17:04:11.301Z", "progress": {"successfulPct": 0.0, "unsuccessfulPct": 0.0, "donePct": 0.0},
    "actions": ["pause", "stop"], "statistics": _NO_STATS,
}
_RUNNING_STATS = {**_NO_STATS, "notInitiated": 400, "notInitiatedPct": 33.3, "initiated": 800, "initiatedPct": 66.7,
                  "successful": 500, "successfulPct": 41.7, "inProgress": 300,
                  "steps": [_step_stats(1, VIBER_STEP, sent=800, queued=120, submitted=680, delivered=500),
                            _step_stats(2, SMS_STEP)]}
BROADCAST_PAUSED = {**BROADCAST_LAUNCHED, "status": "paused", "recipientsResolved": True,
                    "progress": {"successfulPct": 41.7, "unsuccessfulPct": 0.0, "donePct": 41.7},
                    "actions": ["resume", "stop"], "statistics": _RUNNING_STATS}
BROADCAST_ABORTED = {
    **BROADCAST_PAUSED, "status": "aborted", "finishedAt": "2025-03-02T17:10:00.000Z",
    "progress": {"successfulPct": 41.7, "unsuccessfulPct": 58.3, "donePct": 100.0}, "actions": [],
    "statistics": {**_RUNNING_STATS, "unsuccessful": 700, "unsuccessfulPct": 58.3, "canceled": 700, "inProgress": 0,
                   "notInitiated": 400, "notInitiatedPct": 33.3,
                   "steps": [_step_stats(1, VIBER_STEP, sent=680, submitted=680, delivered=500, skipped=120),
                             _step_stats(2, SMS_STEP)]},
}
BROADCAST_RELAUNCH = {
    **BROADCAST_LAUNCHED, "id": 3075, "description": "Spring campaign, wave 1",
    "recipients": {"targets": [], "tags": [], "phones": [], "relaunchOf": 3071}, "relaunchOf": 3071,
    "launch": "manual", "contacts": 42, "statistics": {**_NO_STATS, "total": 42, "notInitiated": 42}}

RECIPIENT = {
    "planId": 90812, "contactId": 1042, "phone": "+34612345678", "state": "successful", "step": 2,
    "message": {"id": "01936d31-7f00-7e21-9c8d-3b4a5c6d7e8f", "step": 2, "channel": 1, "contact": "+34612345678",
                "status": "delivered", "error": None},
    "lateReports": 1, "createdAt": "2025-03-02T17:04:12.020Z", "finishedAt": "2025-03-02T17:05:20.511Z",
}

TEMPLATE_CREATE = {
    "name": "Monday newsletter", "recipients": {"targets": [12]}, "steps": [VIBER_STEP, SMS_STEP],
    "schedule": True, "frequency": "weekly", "weekdays": [0], "time": "09:30",
    "effectiveFrom": "2025-03-03T00:00:00", "effectiveTill": "2025-12-31T23:59:00",
}
TEMPLATE = {
    "id": 989, "name": "Monday newsletter", "description": "", "type": "fallback",
    "recipients": {"targets": [12], "tags": [], "phones": [], "relaunchOf": None},
    "steps": _steps_out(VIBER_STEP, SMS_STEP), "rcsCheck": False,
    "createdAt": "2025-03-02T17:04:11.272Z", "updatedAt": "2025-03-02T17:04:11.272Z",
    "schedule": True, "frequency": "weekly", "weekdays": [0], "monthDay": None, "time": "09:30",
    "effectiveFrom": "2025-03-02T23:00:00Z", "effectiveTill": "2025-12-31T22:59:00Z", "timezone": "Europe/Madrid",
    "scheduleStatus": "active", "nextLaunchAt": "2025-03-03T08:30:00Z", "lastLaunchAt": None, "launches": 0,
    "moderation": "",
}
TEMPLATE_RUN = {**BROADCAST_LAUNCHED, "id": 3080, "name": "Monday newsletter", "description": "",
                "recipients": TEMPLATE["recipients"], "templateId": 989, "launch": "api"}

ERROR_422_CREATE = {
    "status": "ERROR", "code": 422,
    "message": "Validation failed: recipients.tags: There is no tag 99 in your company.",
    "errors": {"recipients.tags": ["There is no tag 99 in your company."],
               "recipients.phones": ["These numbers are not valid: 12 (“12” has 2 digits: a phone number has 3 to "
                                     "17.)"],
               "steps[0].senderId": ["“ACME” is not an active Viber sender ID of your company (Assets → Sender IDs)."],
               "steps[1].payload.text": ["This channel needs a text."]},
}
ERROR_422_LAUNCH = {
    "status": "ERROR", "code": 422,
    "message": "Validation failed: recipients: Choose the recipients: targets, tags or phone numbers.",
    "errors": {"recipients": ["Choose the recipients: targets, tags or phone numbers."],
               "steps[0].senderId": ["Choose the sender ID of step 1 (SMS): it is required to launch or schedule."]},
}
ERROR_422_TEMPLATE = {
    "status": "ERROR", "code": 422,
    "message": "Validation failed: weekdays: Choose at least one weekday.",
    "errors": {"weekdays": ["Choose at least one weekday."]},
}


def _conflict(message):
    return {"status": "ERROR", "code": 409, "message": message}


ERROR_409_LAUNCH = _conflict("A broadcast with status Complete cannot be launched; only Draft, Rejected by moderation, "
                             "Scheduled ones can.")
ERROR_409_PAUSE = _conflict("A broadcast with status Draft cannot be paused; only In progress ones can.")
ERROR_409_RESUME = _conflict("A broadcast with status In progress cannot be resumed; only Paused ones can.")
ERROR_409_STOP = _conflict("A broadcast with status Complete cannot be stopped; only In progress, Paused, Scheduled, "
                           "On moderation ones can.")
ERROR_409_RELAUNCH = _conflict("Every recipient of this broadcast was successful: there is nobody to relaunch for.")
ERROR_409_TEMPLATE = _conflict("Your broadcasts are moderated: this template (On moderation) launches once the "
                               "moderation approves it; send it to moderation.")

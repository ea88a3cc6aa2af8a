"""Example bodies for the OpenAPI schema of the Omni API (the same data as docs/api.md §9).
``messaging/tests/test_api_messages.py`` checks that the response examples have exactly the
fields the serializers produce."""

MESSAGE_ID = "01936d2c-5b1e-7a3c-9f4e-2b8c1d0e4f51"

SEND_SMS = {"contact": "+34612345678", "channel": 1, "senderId": "ACME",
            "payload": {"text": "Hi {{attribute.name}}, your order 1042 is on its way."},
            "webhook": "https://crm.example.com/herald/status"}
SEND_TEMPLATE = {"contact": "+34612345678", "channel": 2, "senderId": "acme_bot",
                 "template": {"id": 17, "params": {"attribute.phoneNumber": "112332", "attribute.name": "test-name"}},
                 "webhook": "https://crm.example.com/herald/status", "createRecipient": True}
SEND_EMAIL = {"contact": "ana@example.com", "channel": 6,
              "payload": {"subject": "Your invoice", "html": "<p>Hello {{attribute.name}}</p>",
                          "text": "Hello {{attribute.name}}"}}
SEND_WHATSAPP_TEMPLATE = {  # spec §21.3 (Zero-Tap), as valid JSON
    "contact": "+34612345678", "channel": 4, "senderId": "+34910000000", "createRecipient": False,
    "payload": {"type": "template",
                "template": {"namespace": "f3a1b2c4_5d6e_7f80_9a1b_2c3d4e5f6a7b", "name": "zero_tap_otp",
                             "language": {"policy": "deterministic", "code": "en"},
                             "components": [
                                 {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
                                 {"type": "button", "sub_type": "url", "index": 0,
                                  "parameters": [{"type": "text", "text": "482913"}]}]}},
}

MESSAGE = {
    "id": MESSAGE_ID, "planId": 812, "step": 1, "direction": "mt", "channel": 1, "contact": "+34612345678",
    "contactId": 1042, "senderId": "ACME", "source": "api", "sourceId": 3, "status": "queued",
    "providerStatus": None, "error": None,
    "content": {"text": "Hi Ana, your order 1042 is on its way."}, "encoding": "gsm7", "segments": 1,
    "price": None, "currency": None, "late": False, "createdAt": "2025-03-02T17:04:11.272Z", "submittedAt": None,
    "deliveredAt": None, "seenAt": None, "finishedAt": None,
}
MESSAGE_SKIPPED = {**MESSAGE, "status": "skipped", "finishedAt": "2025-03-02T17:04:11.275Z",
                   "error": {"code": "opted_out", "text": "The contact opted out of this channel or sender."}}
MESSAGE_DELIVERED = {**MESSAGE, "status": "delivered", "providerStatus": "DELIVRD", "price": "0.045000",
                     "currency": "EUR", "submittedAt": "2025-03-02T17:04:11.412Z",
                     "deliveredAt": "2025-03-02T17:04:14.030Z", "finishedAt": "2025-03-02T17:04:14.030Z"}
MESSAGE_DETAIL = {
    **MESSAGE_DELIVERED,
    "attempts": [{"number": 1, "startedAt": "2025-03-02T17:04:11.301Z", "finishedAt": "2025-03-02T17:04:11.412Z",
                  "durationMs": 111, "ok": True, "error": None,
                  "request": {"to": "+34612345678", "from": "ACME", "segments": 1, "encoding": "gsm7"},
                  "response": {"message_id": "sim-4f2a9c"}}],
    "events": [{"status": "submitted", "providerStatus": None, "errorCode": None, "at": "2025-03-02T17:04:11.412Z",
                "late": False},
               {"status": "delivered", "providerStatus": "DELIVRD", "errorCode": None,
                "at": "2025-03-02T17:04:14.030Z", "late": False}],
}

OMNI_REQUEST = {  # spec §21.2, completed as valid JSON
    "contact": "+34612345678", "webhook": "https://crm.example.com/herald/status",
    "messages": [
        {"channel": 2, "senderId": "acme_bot",
         "template": {"id": 17, "params": {"attribute.phoneNumber": "112332", "attribute.name": "test-name"}},
         "waitFor": "display", "timeout": 300},
        {"channel": 3, "senderId": "ACME", "payload": {"text": "Hi {{attribute.name}}, your order is on its way."},
         "waitFor": "delivery", "timeout": 600},
        {"channel": 1, "senderId": "ACME", "payload": {"text": "Hi {{attribute.name}}, your order is on its way."}},
    ],
}
OMNI_ACCEPTED = {
    "planId": 813, "state": "active", "contact": "+34612345678", "contactId": 1042,
    "messages": [{"step": 1, "id": "01936d2d-0a41-7c55-8e2f-6d1a9b3c7e20", "channel": 2, "contact": "+34612345678",
                  "status": "queued", "error": None}],
}
OMNI_FIRST_SKIPPED = {
    "planId": 814, "state": "active", "contact": "+34612345678", "contactId": 1042,
    "messages": [{"step": 1, "id": "01936d2d-1c02-7d10-a3b4-0f9e8d7c6b5a", "channel": 2, "contact": "+34612345678",
                  "status": "skipped",
                  "error": {"code": "no_route",
                            "text": "No route: no active gateway serves this channel for this destination."}},
                 {"step": 2, "id": "01936d2d-1c03-7d10-b1c2-1a2b3c4d5e6f", "channel": 3, "contact": "+34612345678",
                  "status": "queued", "error": None}],
}

PLAN = {
    "id": 813, "state": "successful", "contact": "+34612345678", "contactId": 1042, "source": "api", "sourceId": 3,
    "currentStep": 2, "deadline": None, "lateReports": 0, "webhook": "https://crm.example.com/herald/status",
    "steps": [
        {"step": 1, "channel": 2, "senderId": "acme_bot",
         "template": {"id": 17, "params": {"attribute.name": "test-name"}}, "payload": None, "waitFor": "display",
         "timeout": 300},
        {"step": 2, "channel": 3, "senderId": "ACME", "template": None,
         "payload": {"text": "Hi {{attribute.name}}, your order is on its way."}, "waitFor": "delivery",
         "timeout": 600},
    ],
    "messages": [
        {**MESSAGE, "id": "01936d2d-0a41-7c55-8e2f-6d1a9b3c7e20", "planId": 813, "channel": 2,
         "senderId": "acme_bot", "status": "delivered", "content": {"text": "Hi test-name"}, "encoding": None,
         "segments": None, "submittedAt": "2025-03-02T17:04:11.412Z", "deliveredAt": "2025-03-02T17:04:12.100Z",
         "finishedAt": "2025-03-02T17:04:12.100Z"},
        {**MESSAGE_DELIVERED, "id": "01936d31-7f00-7e21-9c8d-3b4a5c6d7e8f", "planId": 813, "step": 2, "channel": 3,
         "content": {"text": "Hi test-name, your order is on its way."}, "encoding": None, "segments": None},
    ],
    "createdAt": "2025-03-02T17:04:11.270Z", "finishedAt": "2025-03-02T17:09:15.004Z",
}

ERROR_422_SENDER = {
    "status": "ERROR", "code": 422,
    "message": "Validation failed: senderId: “ACME” is not an active SMS sender ID of your company (Assets → "
               "Sender IDs).",
    "errors": {"senderId": ["“ACME” is not an active SMS sender ID of your company (Assets → Sender IDs)."]},
}
ERROR_422_ONE_OF = {
    "status": "ERROR", "code": 422,
    "message": "Validation failed: payload: Give either a payload or a template, not both and not neither.",
    "errors": {"payload": ["Give either a payload or a template, not both and not neither."]},
}
ERROR_422_STEP = {
    "status": "ERROR", "code": 422,
    "message": "Validation failed: messages[1].waitFor: Push has no delivery reports: wait for submit.",
    "errors": {"messages[1].waitFor": ["Push has no delivery reports: wait for submit."],
               "messages[2].template.id": ["There is no content template 99 in your company."]},
}
ERROR_409 = {"status": "ERROR", "code": 409,
             "message": "A request with this Idempotency-Key is still being processed. Retry in a moment to get "
                        "its response."}
ERROR_422_KEY_REUSED = {
    "status": "ERROR", "code": 422,
    "message": "This Idempotency-Key was already used for another request (POST /api/v1/messages with a "
               "different body). Send a new key for a new request.",
}

"""Example bodies for the OpenAPI schema of the contacts API (one place, so the docs and
the schema show the same data)."""

CONTACT = {
    "id": 1042, "phone": "+34612345678", "country": "ES", "mno": "Movistar",
    "attributes": {"name": "Ana", "surname": "García", "age": 34, "birthday": "1990-05-17", "gender": "f",
                   "email": "ana@example.com"},
    "tags": ["newsletter", "vip"],
    "opt_outs": [{"channel": 1, "sender": "ACME", "created_at": "2025-02-11T08:15:00Z", "source": "word"}],
    "wechat_id": "", "rcs_capable": True, "rcs_checked_at": "2025-03-01T10:00:00Z",
    "created_at": "2025-01-15T09:30:00Z", "updated_at": "2025-03-02T17:04:11Z",
}
CONTACT_CREATE = {"phone": "+34 612 34 56 78", "attributes": {"name": "Ana", "age": 34, "birthday": "1990-05-17"},
                  "tags": ["newsletter"]}
CONTACT_PATCH = {"attributes": {"city": "Madrid", "age": None}, "tags": ["newsletter", "vip"]}
CONTACT_422 = {"status": "ERROR", "code": 422,
               "message": "Validation failed: attributes.age: Age: “thirty” is not a number.",
               "errors": {"attributes.age": ["Age: “thirty” is not a number."],
                          "attributes.shoe_size": ["There is no attribute “shoe_size”."]}}
PHONE_422 = {"status": "ERROR", "code": 422,
             "message": "Validation failed: phone: “12ab” is not a phone number: only digits, spaces, + ( ) - / "
                        "are allowed.",
             "errors": {"phone": ["“12ab” is not a phone number: only digits, spaces, + ( ) - / are allowed."]}}
DELETED = {"id": 1042, "deleted": True}

BULK_REQUEST = {
    "duplicates": "enrich", "tags": ["spring-campaign"],
    "contacts": [
        {"phone": "+34612345678", "attributes": {"name": "Ana", "age": 34}},
        {"phone": "+34699000111", "attributes": {"name": "Luis"}, "tags": ["vip"]},
        {"phone": "12ab", "attributes": {"name": "Bad"}},
        {"phone": "0034 612 345 678", "attributes": {"city": "Madrid"}},
    ],
}
BULK_RESPONSE = {
    "created": 1, "updated": 1, "skipped": 0, "failed": 2,
    "results": [
        {"index": 0, "status": "updated", "id": 1042, "errors": None},
        {"index": 1, "status": "created", "id": 1043, "errors": None},
        {"index": 2, "status": "error", "id": None,
         "errors": {"phone": ["“12ab” is not a phone number: only digits, spaces, + ( ) - / are allowed."]}},
        {"index": 3, "status": "error", "id": None,
         "errors": {"phone": ["Duplicate of row 0: +34612345678 appears earlier in this call."]}},
    ],
}

OPT_OUT = {"id": 88, "channel": 1, "sender": "ACME", "source": "word", "word": "STOP", "user": None,
           "created_at": "2025-02-11T08:15:00Z"}
OPT_OUT_API = {"id": 89, "channel": 1, "sender": "ACME", "source": "api", "word": None, "user": None,
               "created_at": "2025-03-02T17:04:11Z"}

TAG = {"id": 7, "name": "vip", "contact_count": 1250, "created_at": "2025-01-20T11:00:00Z"}
TAG_DELETED = {"id": 7, "deleted": True, "contacts_untagged": 1250}

ATTRIBUTE = {"key": "loyalty_level", "name": "Loyalty level", "type": "list", "values": ["bronze", "silver", "gold"],
             "show_in_profile": True, "position": 11, "created_at": "2025-01-15T09:30:00Z",
             "updated_at": "2025-01-15T09:30:00Z"}
ATTRIBUTE_CREATE = {"name": "Loyalty level", "type": "list", "values": ["bronze", "silver", "gold"],
                    "show_in_profile": True}
ATTRIBUTE_DELETED = {"key": "loyalty_level", "deleted": True, "values_cleared": 312}

TARGET = {"id": 12, "name": "Madrid adults with the newsletter",
          "filters": [{"field": "attribute:city", "mode": "value", "value": "Madrid"},
                      {"field": "attribute:age", "mode": "range", "from": 18, "to": 65},
                      {"field": "tag", "mode": "value", "value": "newsletter"}],
          "launches": 3, "created_at": "2025-02-01T12:00:00Z", "updated_at": "2025-02-03T08:30:00Z"}
TARGET_CREATE = {"name": TARGET["name"], "filters": TARGET["filters"]}
TARGET_COUNT = {"id": 12, "count": 48210}

_IMPORT = {"id": 17, "file": "spring-leads.xlsx", "kind": "wizard", "duplicate_mode": "enrich", "tag": "spring-leads",
           "error_message": ""}
IMPORT_QUEUED = {**_IMPORT, "status": "queued", "status_label": "Queued", "total_rows": 250000, "processed_rows": 0,
                 "percent": 0, "created": 0, "updated": 0, "skipped_duplicates": 0, "errors": 0, "finished": False,
                 "started_at": None, "finished_at": None, "errors_url": None}
IMPORT_RUNNING = {**IMPORT_QUEUED, "status": "running", "status_label": "Running", "processed_rows": 100000,
                  "percent": 40, "created": 91200, "updated": 6300, "errors": 2500,
                  "started_at": "2025-03-02T17:04:12Z"}
IMPORT_DONE = {**IMPORT_RUNNING, "status": "done", "status_label": "Done", "processed_rows": 250000, "percent": 100,
               "created": 228000, "updated": 15750, "errors": 6250, "finished": True,
               "finished_at": "2025-03-02T17:04:31Z",
               "errors_url": "https://herald.example.com/api/v1/imports/17/errors"}
IMPORT_ERRORS = {"id": 17, "errors": 6250, "rows": [
    {"row": 12, "cells": ["12ab", "Ana", "34"], "error": "“12ab” is not a phone number: only digits, spaces, "
                                                          "+ ( ) - / are allowed."},
    {"row": 40, "cells": ["+34612345678", "Luis", "x"], "error": "Age: “x” is not a number."},
    {"row": 41, "cells": ["+34612345678", "Luis", "40"], "error": "Duplicate of row 40 (+34612345678): the first "
                                                                  "row is kept."},
]}

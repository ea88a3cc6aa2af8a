"""Benchmark of the contacts list, a target's count and the CSV export at a million
contacts (issue 3, "Speed"), on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres herald_bench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench \\
        .venv/bin/python bench/contacts_queries.py --contacts 1000000

Set-up (not timed): applies the migrations, creates the company "Bench contacts <n>" with
``n`` contacts in one ``INSERT … SELECT FROM generate_series`` (phone, country, MNO and 7
attributes: name, surname, city, email on 80 %, gender, age, birthday; 10 % tagged
"newsletter"), three targets, then ``VACUUM ANALYZE``. A company of the same size is
reused by later runs (``--fresh`` rebuilds it).

Timed, each ``--runs`` times after two warm-up runs, reporting p50 / p95 in ms:

* ``list: text attribute`` — the Contacts page (``GET /contacts/?attr_city=…``) through
  the Django test client: the data table's filter, count, page of 100 rows, tags, opt-outs,
  the targets each row matches, and the template;
* ``list: number range`` — the same with ``attr_age__min`` / ``attr_age__max``;
* ``list: unfiltered`` — the first page of all contacts;
* ``list: …, no match`` / ``11 matches`` — rare values: no index serves a substring of a
  JSON value, so these read every contact of the company (reported, not a target);
* ``target count`` — ``selectors.target_contacts(target).count()`` on a target with 3
  criteria (gender = f, age 25–40, city not empty), and the same through the builder's
  count endpoint (``POST /contacts/targets/count/``);
* ``CSV export`` — ``GET /contacts/?export=csv``: every contact streamed through the
  data table's export code (``Table.export``), reported in rows/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

CITIES = ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga", "Zaragoza", "Murcia", "Palma", "Vigo"]
THREE_CRITERIA = [
    {"field": "attribute:gender", "mode": "value", "value": "f"},
    {"field": "attribute:age", "mode": "range", "from": "25", "to": "40"},
    {"field": "attribute:city", "mode": "nonempty"},
]


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed(fn, runs):
    for _ in range(2):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def setup_company(n: int, fresh: bool):
    from django.db import connection

    from accounts import services as account_services
    from accounts.models import Company
    from contacts import services
    from contacts.models import Contact, Tag, Target
    from portal.audit import Actor

    name = f"Bench contacts {n}"
    company = Company.objects.filter(name=name).first()
    if company is not None and not fresh and Contact.objects.filter(company=company).count() == n:
        print(f"reusing {name}")
        return company
    if company is not None:
        with connection.cursor() as cur:
            cur.execute("DELETE FROM contacts_contacttag WHERE contact_id IN "
                        "(SELECT id FROM contacts_contact WHERE company_id = %s)", [company.pk])
            cur.execute("DELETE FROM contacts_contact WHERE company_id = %s", [company.pk])
        Target.objects.filter(company=company).delete()
    else:
        company = account_services.create_company(name=name)
    actor = Actor.system(company)
    start = time.perf_counter()
    cities = "ARRAY[" + ",".join(f"'{c}'" for c in CITIES) + "]"
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO contacts_contact (company_id, phone, country, mno, attributes, wechat_id, rcs_capable,
                                          rcs_checked_at, created_at, updated_at)
            SELECT %s, '+346' || lpad(i::text, 8, '0'), 'ES', (ARRAY['Movistar', 'Vodafone', 'Orange'])[i %% 3 + 1],
                   jsonb_strip_nulls(jsonb_build_object(
                       'name', 'Name' || i, 'surname', 'Surname' || (i %% 997),
                       'city', ({cities})[i %% 10 + 1],
                       'email', CASE WHEN i %% 5 = 0 THEN NULL ELSE 'user' || i || '@example.com' END,
                       'gender', CASE WHEN i %% 2 = 0 THEN 'f' ELSE 'm' END,
                       'age', 18 + i %% 60,
                       'birthday', to_char(date '1950-01-01' + (i %% 20000), 'YYYY-MM-DD'))),
                   '', NULL, NULL, now() - make_interval(secs => %s - i), now()
            FROM generate_series(1, %s) AS i
        """, [company.pk, n, n])
        tag = Tag.objects.create(company=company, name="newsletter")
        cur.execute("INSERT INTO contacts_contacttag (contact_id, tag_id) SELECT id, %s FROM contacts_contact "
                    "WHERE company_id = %s AND id %% 10 = 0", [tag.pk, company.pk])
    services.create_target(actor=actor, company=company, name="Young women in a city", filters=THREE_CRITERIA)
    services.create_target(actor=actor, company=company, name="Newsletter",
                           filters=[{"field": "tag", "mode": "value", "value": "newsletter"}])
    services.create_target(actor=actor, company=company, name="No e-mail",
                           filters=[{"field": "attribute:email", "mode": "empty"}])
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE contacts_contact")
        cur.execute("VACUUM ANALYZE contacts_contacttag")
    print(f"created {n:,} contacts in {time.perf_counter() - start:.1f} s")
    return company


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh", action="store_true", help="rebuild the company's contacts")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench")
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]

    from contacts import selectors
    from contacts.models import Target
    from portal.testing import factories

    company = setup_company(args.contacts, args.fresh)
    user = company.users.filter(login__startswith="bench-").first() or factories.admin(
        company, login=f"bench-{company.pk}")
    client = Client()
    client.force_login(user)
    target = Target.objects.get(company=company, name="Young women in a city")

    results = []

    def page(url):
        def run():
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            return response
        return run

    def report(label, times, extra=""):
        p50, p95 = percentile(times, 50), percentile(times, 95)
        results.append({"measure": label, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "extra": extra})
        print(f"{label:<38} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   {extra}")

    checks = {
        "/contacts/?attr_city=sevil": "text attribute",
        "/contacts/?attr_age__min=30&attr_age__max=35": "number range",
        "/contacts/": "unfiltered",
        "/contacts/?attr_city=atlantis": "text attribute, no match",
        "/contacts/?attr_name=name12345": "text attribute, 11 matches",
        "/contacts/?attr_birthday__min=2000-01-01&attr_gender=f": "date range + list value",
    }
    for url, label in checks.items():
        response = page(url)()
        total = response.content.decode().split('data-total="', 1)[1].split('"', 1)[0]
        report(f"list: {label}", timed(page(url), args.runs), f"{total} rows match")

    count = selectors.target_contacts(target).count()
    report("target count (3 criteria), selector", timed(lambda: selectors.target_contacts(target).count(), args.runs),
           f"{count:,} contacts")
    body = {"filters": json.dumps(THREE_CRITERIA)}

    def count_endpoint():
        response = client.post("/contacts/targets/count/", body)
        assert response.status_code == 200 and response.json()["count"] == count

    report("target count (3 criteria), endpoint", timed(count_endpoint, args.runs))

    if not args.skip_export:
        start = time.perf_counter()
        response = client.get("/contacts/?export=csv")
        rows = -1  # the header
        for chunk in response.streaming_content:
            rows += chunk.count(b"\n")
        seconds = time.perf_counter() - start
        results.append({"measure": "CSV export", "rows": rows, "seconds": round(seconds, 1),
                        "rows_per_s": round(rows / seconds)})
        print(f"{'CSV export':<38} {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s")

    machine = f"{platform.node()}, {os.cpu_count()} CPU, {platform.python_version()}"
    try:
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            machine += ", PostgreSQL " + cur.fetchone()[0].split()[0]
            cur.execute("SHOW shared_buffers")
            machine += ", shared_buffers " + cur.fetchone()[0]
        machine += f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        pass
    print(json.dumps({"machine": machine, "contacts": args.contacts, "runs": args.runs, "results": results}))


if __name__ == "__main__":
    main()

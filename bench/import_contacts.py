"""Benchmark of the contact import (issue 3, "Speed"), on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres herald_bench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench \\
        .venv/bin/python bench/import_contacts.py --rows 1000000

Creates its own companies, generates the files (not timed), then times each phase through
the services the wizard and the Celery task use:

* ``upload``  — ``create_import``: type, limits and a full read to count rows and preview;
* ``check``   — ``set_mapping``: the dry run behind steps 4 and 5 (counts, errors, duplicates);
* ``import``  — ``start_import`` → ``run_import``, the task's own code path (the Celery
  task runs eagerly here, in this process; ``HERALD_IMPORT_WRITERS`` connections merge
  chunks at once, ``--writers`` overrides it). The targets are about upload + check +
  import ("end to end").

Files: a CSV of phone + 6 attributes (name, surname, city, email, age, birthday) with 5 %
invalid numbers and 5 % repeats of earlier numbers, imported into an empty company; the same
numbers again with *enrich* into the now full company (the second file gives the city that
20 % of the first file's rows left empty, so enrich has real work); and an XLSX of
``--xlsx-rows`` rows (written with openpyxl ``write_only``) into another empty company.
The migrations must have been applied to the database (``manage.py migrate``).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

FIRST = ["Ana", "Bruno", "Carla", "Diego", "Elena", "Fran", "Gala", "Hugo", "Irene", "Jorge", "Lucía", "Mateo"]
LAST = ["García", "López", "Martín", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Moreno", "Álvarez"]
CITIES = ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga", "Zaragoza", "Murcia"]
ASCII = {name: name.lower().replace("í", "i").replace("á", "a") for name in FIRST}
HEADER = ["Phone number", "Name", "Surname", "City", "Email", "Age", "Birthday"]


def make_rows(n: int, *, seed: int = 7, empty_city_share: float = 0.0):
    """``n`` rows: 90 % good unique numbers, 5 % invalid, 5 % repeats of earlier numbers."""
    rng = random.Random(seed)
    city_rng = random.Random(seed + 1)
    numbers = rng.sample(range(600_000_000, 700_000_000), n)  # Spanish mobiles 6xx
    made = []
    for i in range(n):
        kind = i % 20
        if kind == 7 and made:  # 5 % invalid: letters, or too short
            phone = f"+34 6{i % 97:02d}AB{i % 1000:03d}" if i % 40 == 7 else f"{i % 9999}"
        elif kind == 13 and len(made) > 10:  # 5 % duplicates of an earlier row
            phone = made[rng.randrange(len(made))]
        else:
            phone = f"+34{numbers[i]}"
            made.append(phone)
        first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
        city = "" if city_rng.random() < empty_city_share else CITIES[i % len(CITIES)]
        yield [phone, first, last, city, f"{ASCII[first]}.{i}@example.com", str(18 + i % 60),
               f"{1950 + i % 55}-{1 + i % 12:02d}-{1 + i % 28:02d}"]


def write_csv(path: Path, n: int, **kwargs) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(make_rows(n, **kwargs))


def write_xlsx(path: Path, n: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Contacts")
    ws.append(HEADER)
    for row in make_rows(n, seed=11):
        row[5] = int(row[5])
        ws.append(row)
    wb.save(str(path))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    return f"{os.cpu_count()} CPU ({cpu}), {mem} RAM, Python {platform.python_version()}"


def wal_state() -> tuple[int, int]:
    """(WAL position in bytes, checkpoints started so far): the run's WAL and the checkpoints
    it triggered (PostgreSQL starts one per ~max_wal_size / 2 of WAL; 1M new contacts write
    ~1.6 GB of WAL, so 3-4 checkpoints per run with the stock 1 GB)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, checkpoints_timed + checkpoints_req "
                       "FROM pg_stat_bgwriter")
        wal, checkpoints = cursor.fetchone()
    return int(wal), int(checkpoints)


def run_import(company, user, path: Path, mode: str, label: str) -> dict:
    from django.core.files import File

    from contacts.models import ContactImport
    from contacts.services import imports
    from portal.audit import Actor

    actor = Actor(user=user, company=company)
    times = {}
    load_before = os.getloadavg()[0]  # other work on the machine (both phases are CPU-bound on 2 vCPU)
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        imp = imports.create_import(actor=actor, company=company, file=File(fh, name=path.name))
    times["upload"] = time.perf_counter() - t0
    columns, _preset = imports.suggest_mapping(imp)
    mapping = {str(c.index): c.target for c in columns}
    t0 = time.perf_counter()
    imports.set_mapping(actor=actor, imp=imp, mapping=mapping)
    times["check"] = time.perf_counter() - t0
    imports.set_duplicates(actor=actor, imp=imp, mode=mode, tag=f"bench {label}")
    wal_before, checkpoints_before = wal_state()
    t0 = time.perf_counter()
    imports.start_import(actor=actor, imp=imp)  # eager Celery: the task's code path, in this process
    total = time.perf_counter() - t0
    wal_after, checkpoints_after = wal_state()  # the error report adds almost no WAL
    imp = ContactImport.objects.get(pk=imp.pk)
    status = imports.import_status(imp)
    assert status["status"] == "done", status
    # The run itself (claim to DONE, the task's own clock); the XLSX of rejected rows is
    # written after it by another task (the summary is on screen before that).
    times["import"] = (imp.finished_at - imp.started_at).total_seconds()
    times["report"] = total - times["import"]
    rows = status["total_rows"]
    end_to_end = times["upload"] + times["check"] + times["import"]
    print(f"{label:>32}: {rows:>9,} rows  upload {times['upload']:5.1f} s  check {times['check']:5.1f} s  "
          f"import {times['import']:5.1f} s = {rows / times['import']:>7,.0f} rows/s  "
          f"[upload+check+import {end_to_end:5.1f} s = {rows / end_to_end:>7,.0f} rows/s; "
          f"error report {times['report']:4.1f} s]  created {status['created']:,}, updated {status['updated']:,}, "
          f"skipped {status['skipped_duplicates']:,}, errors {status['errors']:,}; load before {load_before:.1f}; "
          f"run WAL {(wal_after - wal_before) / 1e6:,.0f} MB, {checkpoints_after - checkpoints_before} checkpoint(s) "
          f"started", flush=True)
    return {"rows": rows, **times, **status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV (default 1,000,000)")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="rows of the XLSX (default 100,000; 0 = skip)")
    parser.add_argument("--no-enrich", action="store_true", help="skip the enrich re-import")
    parser.add_argument("--keep", action="store_true", help="keep the bench companies (deleted by default)")
    parser.add_argument("--writers", type=int, default=None,
                        help="HERALD_IMPORT_WRITERS for this run (connections merging chunks at once; default: setting)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from accounts.models import Company, User
    from portal.testing import factories

    if connection.vendor != "postgresql":
        sys.exit("Run the benchmark on PostgreSQL: set DATABASE_URL (see the docstring).")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.HERALD_IMPORT_MAX_UPLOAD_MB = max(settings.HERALD_IMPORT_MAX_UPLOAD_MB, 1024)
    from portal.celery import app

    app.conf.task_always_eager = True
    if args.writers is not None:
        settings.HERALD_IMPORT_WRITERS = args.writers
    print(f"machine: {machine()}; workers {settings.HERALD_IMPORT_WORKERS}, "
          f"writers {getattr(settings, 'HERALD_IMPORT_WRITERS', 2)}, chunk {settings.HERALD_IMPORT_CHUNK_ROWS:,}",
          flush=True)
    # Not timed: what autovacuum would have done (the bench machine's PostgreSQL runs with
    # autovacuum off) — earlier runs' deleted companies leave millions of dead rows.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE contacts_contact")
        cursor.execute("VACUUM ANALYZE contacts_contacttag")
    companies = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if args.rows:
                first, second = tmp / "contacts.csv", tmp / "contacts-enrich.csv"
                t0 = time.perf_counter()
                write_csv(first, args.rows, empty_city_share=0.2)
                if not args.no_enrich:
                    write_csv(second, args.rows)
                print(f"generated CSV files in {time.perf_counter() - t0:.1f} s ({first.stat().st_size / 1e6:.0f} MB)",
                      flush=True)
                company = factories.company(f"Bench CSV {int(time.time())}")
                companies.append(company)
                user = factories.admin(company, login=f"bench{company.pk}")
                run_import(company, user, first, "skip", f"CSV {args.rows:,} into empty company")
                if not args.no_enrich:
                    run_import(company, user, second, "enrich", f"CSV {args.rows:,} enrich over full")
            if args.xlsx_rows:
                path = tmp / "contacts.xlsx"
                t0 = time.perf_counter()
                write_xlsx(path, args.xlsx_rows)
                print(f"generated XLSX in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.1f} MB)",
                      flush=True)
                company = factories.company(f"Bench XLSX {int(time.time())}")
                companies.append(company)
                user = factories.admin(company, login=f"benchx{company.pk}")
                run_import(company, user, path, "skip", f"XLSX {args.xlsx_rows:,} into empty company")
    finally:
        if not args.keep:
            from contacts.models import ContactImport
            from contacts.services import imports

            for imp in ContactImport.objects.filter(company__in=companies):
                imports._drop_folders(imp)
                imports._delete_work(imp)
                for field in (imp.file, imp.error_report):
                    if field:
                        field.delete(save=False)
            for company in companies:
                with connection.cursor() as cursor:  # set-wise: deleting 1M contacts through the ORM is slow
                    cursor.execute("DELETE FROM contacts_contacttag WHERE contact_id IN "
                                   "(SELECT id FROM contacts_contact WHERE company_id = %s)", [company.pk])
                    cursor.execute("DELETE FROM contacts_contact WHERE company_id = %s", [company.pk])
                User.objects.filter(company=company).delete()
                Company.objects.filter(pk=company.pk).delete()


if __name__ == "__main__":
    main()

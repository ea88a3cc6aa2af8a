"""Compile the ``.po`` catalogues to ``.mo`` with polib, so no system gettext is needed.

Django's own ``compilemessages`` calls GNU ``msgfmt``; a fresh laptop or a slim container
often lacks it. This command does the same job in pure Python: every
``<locale dir>/<lang>/LC_MESSAGES/*.po`` under ``LOCALE_PATHS`` and the project's own app
directories is written beside itself as ``.mo``. A ``.mo`` newer than its ``.po`` is left
alone (``--force`` rebuilds it). Like ``msgfmt``, fuzzy and obsolete entries are left out.
A translation whose ``%(name)s`` placeholders differ from the original is an error: it
would raise at run time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def locale_dirs() -> list[Path]:
    """``LOCALE_PATHS`` plus the ``locale`` folder of every app that lives in this project."""
    base = Path(settings.BASE_DIR).resolve()
    dirs = [Path(p).resolve() for p in settings.LOCALE_PATHS]
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(base) and ".venv" not in path.parts:
            dirs.append(path / "locale")
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def catalogues() -> list[Path]:
    return sorted(po for d in locale_dirs() for po in d.glob("*/LC_MESSAGES/*.po"))


def placeholder_errors(po: polib.POFile) -> list[str]:
    """Entries whose translation names other ``%(…)s`` placeholders than the original."""
    errors = []
    for entry in po.translated_entries():
        if "python-format" not in entry.flags:
            continue
        wanted = set(PLACEHOLDER.findall(entry.msgid)) | set(PLACEHOLDER.findall(entry.msgid_plural or ""))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            found = set(PLACEHOLDER.findall(text))
            if found - wanted:
                errors.append(f"line {entry.linenum}: unknown placeholder(s) {sorted(found - wanted)} "
                              f"in the translation of {entry.msgid[:60]!r}")
    return errors


class Command(BaseCommand):
    help = "Compile every locale/*/LC_MESSAGES/*.po to .mo with polib (no system gettext needed)."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Rebuild .mo files even when up to date.")

    def handle(self, *args, force=False, **options):
        compiled = skipped = 0
        failures = []
        for po_path in catalogues():
            mo_path = po_path.with_suffix(".mo")
            if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                skipped += 1
                continue
            try:
                po = polib.pofile(str(po_path), wrapwidth=0)
            except (OSError, ValueError) as exc:
                failures.append(f"{po_path}: {exc}")
                continue
            errors = placeholder_errors(po)
            if errors:
                failures.extend(f"{po_path}: {e}" for e in errors)
                continue
            po.save_as_mofile(str(mo_path))
            compiled += 1
            self.stdout.write(f"Compiled {os.path.relpath(po_path, settings.BASE_DIR)} "
                              f"({len(po.translated_entries())} messages, {po.percent_translated()}% translated)")
        if failures:
            raise CommandError("Could not compile translations:\n  " + "\n  ".join(failures))
        if options["verbosity"] >= 1:
            if compiled == 0 and skipped == 0:
                self.stdout.write("No translation catalogues (.po) found; nothing to compile.")
            elif skipped:
                self.stdout.write(f"{skipped} catalogue(s) already up to date.")

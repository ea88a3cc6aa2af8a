"""The Spanish catalogue: complete, well-formed, compiled, and actually used by the pages.

``locale/es/LC_MESSAGES/django.po`` is the source of truth; the ``.mo`` next to it is
git-ignored and built by ``manage.py compiletranslations`` (polib, no system gettext).
The ``spanish_catalogue`` fixture runs that compile step once per test session when the
``.mo`` is missing or older than the ``.po``, so these tests never read a stale build.
"""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test.signals import setting_changed
from django.urls import reverse

PO_PATH = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# Same pattern as portal/management/commands/compiletranslations.py: %(name)s, %(n)d, %(size).1f …
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _mo_is_stale() -> bool:
    return not MO_PATH.exists() or MO_PATH.stat().st_mtime < PO_PATH.stat().st_mtime


@pytest.fixture(scope="session")
def spanish_catalogue():
    """Compile the catalogues (once) if the Spanish ``.mo`` is missing or out of date,
    then drop Django's in-process catalogue cache so the fresh ``.mo`` is what gets read."""
    if _mo_is_stale():
        call_command("compiletranslations", verbosity=0)
    assert not _mo_is_stale(), f"{MO_PATH} was not built from {PO_PATH}"
    # An earlier test may have loaded the "es" catalogue before the .mo existed; the
    # LOCALE_PATHS change handler is Django's own way of clearing that cache.
    setting_changed.send(sender=settings._wrapped.__class__, setting="LOCALE_PATHS",
                         value=settings.LOCALE_PATHS, enter=False)
    return MO_PATH


@pytest.fixture
def po():
    return polib.pofile(str(PO_PATH), wrapwidth=0)


@pytest.fixture
def spanish_client(spanish_catalogue, admin_user, admin_client):
    admin_user.language = "es"
    admin_user.save(update_fields=["language"])
    return admin_client


def menu_labels(html: str) -> dict[str, str]:
    """``{data-menu key: title}`` of the left menu entries."""
    labels = {}
    for tag in re.findall(r"<[^>]*\bdata-menu=[^>]*>", html):
        key, title = re.search(r'data-menu="([\w-]+)"', tag), re.search(r'\btitle="([^"]*)"', tag)
        if key and title:
            labels[key.group(1)] = title.group(1)
    return labels


# --- The pages ---------------------------------------------------------------------------------


def test_spanish_user_sees_the_menu_in_spanish(spanish_client):
    response = spanish_client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="es"' in html
    labels = menu_labels(html)
    assert labels["dashboard"] == "Panel"
    assert labels["broadcasts"] == "Difusiones"
    assert labels["contacts"] == "Contactos"
    assert labels["users"] == "Usuarios"
    assert labels["conversations"] == "Conversaciones"
    assert labels["api_accesses"] == "Accesos API"
    assert labels["help"] == "Ayuda"
    assert labels["account"] == "Configuración de la cuenta"
    for english in ("Dashboard", "Broadcasts", "Contacts"):
        assert f">{english}<" not in html


def test_spanish_user_sees_the_users_table_in_spanish(spanish_client):
    response = spanish_client.get(reverse("users:list"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Añadir filtro", "Columnas visibles", "Filas 1-", "Por valor", "Valor vacío", "Nombre de usuario"):
        assert text in html, text
    assert "Add filter" not in html and "Columns to show" not in html and "Rows 1-" not in html


def test_language_cookie_translates_the_login_page(spanish_catalogue, client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    assert settings.LANGUAGE_COOKIE_NAME == "django_language"
    html = client.get(reverse("login")).content.decode()
    assert 'lang="es"' in html
    assert "Iniciar sesión" in html
    assert "¿Olvidaste tu contraseña?" in html
    assert "Recordarme" in html

    english = client.__class__().get(reverse("login")).content.decode()
    assert "Sign in" in english and "Iniciar sesión" not in english


# --- The catalogue -----------------------------------------------------------------------------


def test_every_message_is_translated(po):
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated message(s) in {PO_PATH.name}: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy message(s) in {PO_PATH.name}: {fuzzy[:10]}"
    assert not po.metadata_is_fuzzy, "the header is still marked fuzzy"
    for entry in po:
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            assert set(entry.msgstr_plural) == {0, 1}, entry.msgid
            assert all(s.strip() for s in entry.msgstr_plural.values()), entry.msgid
        else:
            assert entry.msgstr.strip(), entry.msgid


def test_header_declares_spanish_with_two_plural_forms(po):
    assert po.metadata["Language"] == "es"
    assert po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"
    assert po.metadata["Content-Type"] == "text/plain; charset=UTF-8"


def test_translations_keep_their_placeholders(po):
    """Same ``%(name)s`` placeholders as the original. The compile step only rejects extra
    ones; a dropped placeholder would silently lose information."""

    def names(text):
        return sorted(PLACEHOLDER.findall(text))

    problems = []
    for entry in po.translated_entries():
        if entry.msgid_plural:
            # The singular may spell the number out ("your previous password"), so msgstr[0]
            # needs the singular's placeholders and may use the plural's; msgstr[1] matches the plural.
            singular = set(names(entry.msgstr_plural[0]))
            if not set(names(entry.msgid)) <= singular <= set(names(entry.msgid_plural)):
                problems.append(entry.msgid)
            if names(entry.msgstr_plural[1]) != names(entry.msgid_plural):
                problems.append(entry.msgid_plural)
        elif names(entry.msgstr) != names(entry.msgid) or entry.msgstr.count("{}") != entry.msgid.count("{}"):
            problems.append(entry.msgid)
    assert not problems, problems


@pytest.mark.parametrize("english, spanish", [
    ("Broadcasts", "Difusiones"), ("Dashboard", "Panel"), ("Contacts", "Contactos"),
    ("Conversations", "Conversaciones"), ("Finance", "Finanzas"), ("Statistics", "Estadísticas"),
    ("Assets", "Recursos"), ("Users", "Usuarios"), ("Audit", "Auditoría"), ("API Accesses", "Accesos API"),
    ("2FA Service", "Servicio 2FA"), ("Account settings", "Configuración de la cuenta"), ("Help", "Ayuda"),
    ("Sign in", "Iniciar sesión"), ("Remember me", "Recordarme"), ("Forgot password?", "¿Olvidaste tu contraseña?"),
    ("Add filter", "Añadir filtro"), ("Columns to show", "Columnas visibles"), ("By value", "Por valor"),
    ("By range", "Por rango"), ("Empty value", "Valor vacío"), ("Non-empty values", "Valores no vacíos"),
    ("Export", "Exportar"), ("Rows %(first)s-%(last)s of %(total)s", "Filas %(first)s-%(last)s de %(total)s"),
    ("No restrictions", "Sin restricciones"), ("Role", "Rol"), ("Department", "Departamento"),
    ("Scopes", "Ámbitos"), ("Webhook", "Webhook"), ("API key", "Clave API"),
])
def test_product_glossary(po, english, spanish):
    entry = po.find(english)
    assert entry is not None, f"{english!r} is no longer in the catalogue: update the glossary test"
    assert entry.msgstr == spanish


def test_the_confirmation_word_is_not_translated(po):
    """The user must type ``delete-account`` literally, whatever the language."""
    entry = po.find("Type delete-account to confirm.")
    assert entry is not None and "delete-account" in entry.msgstr


def test_import_as_an_opt_out_source_reads_as_a_noun_in_spanish(db):
    """One English word, two Spanish ones: the *Import* button and the opt-out source."""
    from django.utils import translation

    from contacts.models import OptOutSource

    with translation.override("es"):
        assert str(OptOutSource.IMPORT.label) == "Importación"
        assert translation.gettext("Import") == "Importar"

"""Seed the demo company of the embedded default (idempotent).

The first run creates the company "Demo Company" with:

* ``demo`` — an Admin (*No restrictions*) whose first-login password change is already
  done, so the printed password works straight away;
* ``broadcasts`` and ``finance`` — users with the system roles *Broadcast manager* and
  *Finance manager* (default passwords: they change them at first sign-in);
* the custom role *Support agent*.

Every password is random (``accounts.passwords.generate_password``) and written to
``var/demo-credentials.txt`` (mode 600, ignored by git), so later runs — and
``runherald`` — can print the login again. Every write goes through ``accounts.services``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.models import Company, Department, Role, User
from accounts.passwords import generate_password
from portal.audit import Actor

DEMO_COMPANY = "Demo Company"
DEMO_LOGIN = "demo"
CUSTOM_ROLE = "Support agent"
CUSTOM_ROLE_PERMISSIONS = ["view_dashboard", "view_conversations", "manage_conversations", "view_chatbots",
                           "manage_conversation_templates", "view_statistics"]


@dataclass(frozen=True)
class DemoUser:
    login: str
    first_name: str
    last_name: str
    department: str
    system_role: str  # system_code of the role
    note: str


DEMO_USERS = (
    DemoUser(DEMO_LOGIN, "Dana", "Demo", Department.ADMIN, "admin", "Admin (no restrictions)"),
    DemoUser("broadcasts", "Blake", "Broadcaster", Department.FIRST_LINE, "broadcast_manager",
             "Broadcast manager; changes the password at first sign-in"),
    DemoUser("finance", "Frankie", "Finance", Department.ADMIN, "finance_manager",
             "Finance manager; changes the password at first sign-in"),
)


@dataclass(frozen=True)
class Credential:
    login: str
    password: str
    note: str


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.txt"


def read_credentials(path: Path | None = None) -> list[Credential]:
    """The demo logins written by the first run ([] when the file is missing)."""
    path = path or credentials_path()
    if not path.exists():
        return []
    result = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        login, password, *rest = line.split("\t")
        result.append(Credential(login, password, rest[0] if rest else ""))
    return result


def write_credentials(credentials: list[Credential], path: Path | None = None) -> None:
    path = path or credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Herald demo logins, written by `manage.py seed_demo`. Keep this file private.",
             "# login<TAB>password<TAB>note"]
    lines += [f"{c.login}\t{c.password}\t{c.note}" for c in credentials]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    path.chmod(0o600)


class Command(BaseCommand):
    help = "Create the demo company and its logins on first run; print the demo login on every run."

    def add_arguments(self, parser):
        parser.add_argument("--reset-password", action="store_true",
                            help="Give the demo admin a new random password (e.g. when the credentials file "
                                 "was lost) and save it.")

    def handle(self, *args, reset_password=False, **options):
        services.ensure_system_roles()
        with transaction.atomic():
            company = Company.objects.filter(name=DEMO_COMPANY).order_by("pk").first()
            if company is None:
                company = services.create_company(name=DEMO_COMPANY, actor=Actor.system())
                self.stdout.write(f"Created the company “{DEMO_COMPANY}”.")
            self._ensure_custom_role(company)
            self._ensure_messaging(company)
            known = {c.login: c for c in read_credentials()}
            changed = self._ensure_users(company, known)
            if reset_password:
                known[DEMO_LOGIN] = self._reset_demo_password(company, known)
                changed = True
        if changed:
            write_credentials([known[u.login] for u in DEMO_USERS if u.login in known])
        self._print(known)

    # -- steps ---------------------------------------------------------------------------
    def _ensure_custom_role(self, company: Company) -> None:
        if not Role.objects.for_company(company).filter(name__iexact=CUSTOM_ROLE).exists():
            services.create_role(actor=Actor.system(company), company=company, name=CUSTOM_ROLE,
                                 description="Answers customers in Conversations and works with chatbots.",
                                 permissions=CUSTOM_ROLE_PERMISSIONS)
            self.stdout.write(f"Created the custom role “{CUSTOM_ROLE}”.")

    def _ensure_messaging(self, company: Company) -> None:
        """The embedded default sends for real, without a network: a simulator gateway for
        every channel that has no gateway yet (any company), and an active SMS sender ID."""
        from messaging.models import Gateway, SenderId, SenderIdStatus
        from portal.channel_types import Channel

        for channel in Channel:
            if not Gateway.objects.filter(channel=channel).exists():
                Gateway.objects.create(
                    name=f"Simulator {channel.label}", channel=channel, provider="simulator", tps=1000,
                    default_from="HERALD",
                    settings={"seed": 1, "deliver_rate": 0.95, "seen_rate": 0.4, "report_delay": 2, "seen_delay": 5})
                self.stdout.write(f"Created the simulator gateway for {channel.label}.")
        for channel in (Channel.SMS, Channel.RCS, Channel.VIBER, Channel.WHATSAPP, Channel.EMAIL, Channel.PUSH,
                        Channel.TTS, Channel.MOBILE_PUSH):
            text = "news@herald.example" if channel == Channel.EMAIL else "HERALD"
            if not SenderId.objects.for_company(company).filter(channel=channel, sender_id=text).exists():
                SenderId.objects.create(company=company, channel=channel, sender_id=text, name="Herald demo",
                                        status=SenderIdStatus.ACTIVE, description="Demo sender ID")
                self.stdout.write(f"Created the active {channel.label} sender ID “{text}”.")
        self._ensure_contacts(company)

    def _ensure_contacts(self, company: Company) -> None:
        """A few demo contacts tagged “Demo customers”, so that a broadcast can be built and
        sent at once (only when the company has no contact yet)."""
        from contacts.models import Contact, ContactTag, Tag
        from contacts.services import create_default_attributes

        if Contact.objects.for_company(company).exists():
            return
        create_default_attributes(company)
        tag, _ = Tag.objects.get_or_create(company=company, name="Demo customers")
        names = ["Ana", "Bruno", "Carla", "David", "Elena", "Fabio", "Gloria", "Hugo", "Irene", "Jorge", "Lucía",
                 "Mateo"]
        contacts = Contact.objects.bulk_create([
            Contact(company=company, phone=f"+3460000{i:04d}", country="ES", mno="Movistar",
                    attributes={"name": name, "email": f"{name.lower()}@example.com"})
            for i, name in enumerate(names, start=1)])
        ContactTag.objects.bulk_create([ContactTag(contact=c, tag=tag) for c in contacts])
        self.stdout.write(f"Created {len(contacts)} demo contacts tagged “{tag.name}”.")

    def _ensure_users(self, company: Company, known: dict[str, Credential]) -> bool:
        created = False
        actor = Actor.system(company)
        for spec in DEMO_USERS:
            if User.objects.filter(login__iexact=spec.login).exists():
                continue
            password = generate_password()
            user = services.create_user(
                actor=actor, company=company, password=password,
                roles=[Role.objects.get(company=None, system_code=spec.system_role)],
                unrestricted=spec.system_role == "admin",
                login=spec.login, first_name=spec.first_name, last_name=spec.last_name,
                email=f"{spec.login}@demo.example.com",
                department=Department.objects.for_company(company).filter(name=spec.department).first(),
            )
            if spec.login == DEMO_LOGIN:
                # The demo admin makes the first-login change right away, so the printed
                # password is the one to sign in with (and must_change_password is False).
                initial, password = password, generate_password()
                services.change_own_password(actor=Actor(user=user, company=company), user=user,
                                             current_password=initial, new_password=password)
            known[spec.login] = Credential(spec.login, password, spec.note)
            created = True
            self.stdout.write(f"Created the user “{spec.login}”.")
        return created

    def _reset_demo_password(self, company: Company, known: dict[str, Credential]) -> Credential:
        user = User.objects.filter(login__iexact=DEMO_LOGIN, company=company).first()
        if user is None:
            raise CommandError(f"The user “{DEMO_LOGIN}” is not in “{DEMO_COMPANY}”.")
        password = generate_password()
        services.update_user(actor=Actor(user=user, company=company), user=user, password=password)
        self.stdout.write(f"Gave “{DEMO_LOGIN}” a new password.")
        note = known[DEMO_LOGIN].note if DEMO_LOGIN in known else DEMO_USERS[0].note
        return Credential(DEMO_LOGIN, password, note)

    def _print(self, known: dict[str, Credential]) -> None:
        demo = known.get(DEMO_LOGIN)
        if demo is None:
            self.stdout.write(self.style.WARNING(
                f"The demo user exists but its password is not in {credentials_path()}. "
                "Run `python manage.py seed_demo --reset-password` to set a new one."))
            return
        self.stdout.write(self.style.SUCCESS(f"Demo login: {demo.login} / {demo.password}"))
        self.stdout.write(f"All demo logins: {credentials_path()}")

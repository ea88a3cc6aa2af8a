"""The password policy validators (spec §19) and the *Generate* helper."""

from __future__ import annotations

import secrets
import string

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

SPECIALS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
CLASSES = (
    ("upper-case letters", str.isupper),
    ("lower-case letters", str.islower),
    ("digits", str.isdigit),
    ("special characters", lambda c: not c.isalnum() and not c.isspace()),
)


class CharacterClassValidator:
    """At least ``min_classes`` of: upper-case, lower-case, digits, special characters."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        found = sum(1 for _name, test in CLASSES if any(test(c) for c in password))
        if found < self.min_classes:
            raise ValidationError(
                _("The password must contain at least %(n)d of these 4 groups: upper-case letters, "
                  "lower-case letters, digits, special characters.") % {"n": self.min_classes},
                code="password_too_simple",
            )

    def get_help_text(self):
        return _("At least %(n)d of: upper-case letters, lower-case letters, digits, special characters.") % {
            "n": self.min_classes}


class PasswordHistoryValidator:
    """The new password must differ from the last ``history`` passwords of the user."""

    def __init__(self, history: int = 7):
        self.history = history

    def validate(self, password, user=None):
        if user is None or not getattr(user, "pk", None):
            return
        previous = list(user.password_history.values_list("password", flat=True)[: self.history])
        if user.password and user.password not in previous:
            previous = [user.password, *previous][: self.history]
        if any(check_password(password, encoded) for encoded in previous):
            raise ValidationError(
                ngettext("The password must differ from your previous password.",
                         "The password must differ from your last %(n)d passwords.", self.history)
                % {"n": self.history},
                code="password_reused",
            )

    def get_help_text(self):
        return _("Must differ from your last %(n)d passwords.") % {"n": self.history}


def generate_password(length: int = 16) -> str:
    """A strong random password with all four character classes."""
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, SPECIALS]
    chars = [secrets.choice(pool) for pool in pools]
    alphabet = "".join(pools)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)

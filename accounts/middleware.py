"""Per-request account security: idle logout (60 minutes), forced password change
(first login and expiry), the user's language."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.messages.storage import default_storage
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

SESSION_ACTIVITY_KEY = "herald_last_activity"
EXEMPT_PREFIXES = ("/static/", "/media/", "/healthz", "/api/", "/i18n/", "/t/", "/callbacks/")
# Using the portal counts as access for the 30-day inactivity block (spec §19.6): refresh
# ``last_login`` of a long-lived session at most this often.
ACCESS_REFRESH = timedelta(hours=12)


class AccountSecurityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not path.startswith(EXEMPT_PREFIXES):
            response = self._check(request, user, path)
            if response is not None:
                return response
        return self.get_response(request)

    def _check(self, request, user, path):
        now = time.time()
        last = request.session.get(SESSION_ACTIVITY_KEY)
        if last is not None and now - last > settings.HERALD_IDLE_LOGOUT.total_seconds():
            logout(request)
            # This middleware runs before MessageMiddleware, so store the message ourselves.
            storage = default_storage(request)
            storage.add(messages.INFO, _("You were signed out after 60 minutes of inactivity."))
            response = redirect(f"{reverse('login')}?next={quote(path)}")
            storage.update(response)
            return response
        if last is None or now - last > 30:
            request.session[SESSION_ACTIVITY_KEY] = now
            current = timezone.now()
            if user.last_login is None or current - user.last_login > ACCESS_REFRESH:
                get_user_model().objects.filter(pk=user.pk).update(last_login=current)
                user.last_login = current
        if not user.is_active or user.blocked_for_inactivity:
            logout(request)
            return redirect("login")
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language
        if user.must_change_password or user.password_expired():
            allowed = {reverse("password_change_required"), reverse("logout")}
            if path not in allowed:
                return redirect("password_change_required")
        return None

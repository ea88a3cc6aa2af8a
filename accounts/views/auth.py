"""Sign in, sign out, forced password change, and *Forgot password?* by e-mail link."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.encoding import force_bytes, force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from accounts import services, twofactor
from accounts.forms import (
    LoginCodeForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    SetPasswordForm,
    apply_service_errors,
)
from accounts.middleware import SESSION_ACTIVITY_KEY
from accounts.models import User
from portal.audit import Actor
from portal.net import client_ip

PENDING_LOGIN_KEY = "herald_2fa_pending"


def _next_url(request, user, target: str | None) -> str:
    if user.company_id is None:
        return reverse("admin:index")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("dashboard")


def complete_login(request, user, *, remember_me: bool, next_url: str | None):
    """Open the session of a user who passed every sign-in step."""
    login(request, user, backend="accounts.backends.LoginBackend")
    if not remember_me:
        request.session.set_expiry(0)  # ends with the browser session
    request.session[SESSION_ACTIVITY_KEY] = time.time()
    translation.activate(user.language)
    response = redirect(_next_url(request, user, next_url))
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
    return response


@method_decorator(never_cache, name="dispatch")
class LoginView(View):
    """*Sign in*. For a user with two-factor authentication the right password leads to the
    code step (:class:`LoginCodeView`) instead of a session."""

    template_name = "accounts/login.html"

    def get(self, request):
        if request.user.is_authenticated:
            return redirect("dashboard")
        return render(request, self.template_name, {"form": LoginForm()})

    def post(self, request):
        request.session.pop(PENDING_LOGIN_KEY, None)
        form = LoginForm(request.POST)
        if form.is_valid():
            result = services.authenticate_login(login=form.cleaned_data["login"],
                                                 password=form.cleaned_data["password"], ip=client_ip(request))
            user = result.user
            next_url = request.POST.get("next") or request.GET.get("next")
            if user is not None and user.two_factor_enabled:
                try:
                    challenge = twofactor.start_login(user=user)
                except ValidationError as exc:
                    form.add_error(None, exc.messages)
                    return render(request, self.template_name, {"form": form})
                request.session[PENDING_LOGIN_KEY] = {
                    "user_id": user.pk, "auth_hash": user.get_session_auth_hash(), "started_at": time.time(),
                    "remember_me": bool(form.cleaned_data["remember_me"]), "next": next_url or "",
                    "phone": challenge.masked}
                if not challenge.sent:
                    messages.info(request, _("The code we sent you a moment ago is still valid: enter it."))
                return redirect("login_code")
            if user is not None:
                return complete_login(request, user, remember_me=form.cleaned_data["remember_me"],
                                      next_url=next_url)
            form.add_error(None, result.error)
        return render(request, self.template_name, {"form": form}, status=200)


@method_decorator(never_cache, name="dispatch")
class LoginCodeView(View):
    """The sign-in code step: *Enter the code we sent to +34••••••678*, *Resend code*,
    *Back*. The pending sign-in (user, time, *Remember me*, where to go next) lives in the
    session for 10 minutes; the session is opened only when the code is right."""

    template_name = "accounts/login_code.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("dashboard")
        self.pending = request.session.get(PENDING_LOGIN_KEY)
        if not self.pending:
            return redirect("login")
        if twofactor.pending_expired(self.pending.get("started_at", 0), time.time()):
            return self._restart(request, _("Your sign-in took more than 10 minutes. Sign in again."))
        self.user = twofactor.pending_login_user(self.pending.get("user_id"), self.pending.get("auth_hash"))
        if self.user is None:
            return self._restart(request, _("Your sign-in is no longer valid. Sign in again."))
        return super().dispatch(request, *args, **kwargs)

    def _restart(self, request, message):
        request.session.pop(PENDING_LOGIN_KEY, None)
        if message:
            messages.error(request, message)
        return redirect("login")

    def _render(self, request, form):
        return render(request, self.template_name, {"form": form, "phone": self.pending.get("phone", "")})

    def get(self, request):
        return self._render(request, LoginCodeForm())

    def post(self, request):
        action = request.POST.get("action", "verify")
        if action == "back":
            return self._restart(request, None)
        if action == "resend":
            try:
                challenge = twofactor.resend_login(user=self.user)
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                self.pending["phone"] = challenge.masked
                request.session[PENDING_LOGIN_KEY] = self.pending
                messages.success(request, _("A new code was sent to %(phone)s.") % {"phone": challenge.masked})
            return redirect("login_code")
        form = LoginCodeForm(request.POST)
        if not form.is_valid():
            return self._render(request, form)
        result = twofactor.verify_login(user=self.user, code=form.cleaned_data["code"], ip=client_ip(request))
        if result.restart:
            return self._restart(request, result.error)
        if result.user is None:
            form.add_error("code", result.error)
            return self._render(request, form)
        request.session.pop(PENDING_LOGIN_KEY, None)
        return complete_login(request, result.user, remember_me=self.pending.get("remember_me", False),
                              next_url=self.pending.get("next"))


class LogoutView(View):
    """POST only (with the CSRF token): a link on another site cannot sign users out."""

    http_method_names = ["post"]

    def post(self, request):
        logout(request)
        return redirect("login")


def submit_password_change(request, form) -> bool:
    """Change the signed-in user's own password from a valid ``PasswordChangeForm``; keeps
    the session signed in. Returns False with the errors put on the form."""
    if not form.is_valid():
        return False
    try:
        services.change_own_password(actor=Actor.from_request(request), user=request.user,
                                     current_password=form.cleaned_data["current_password"],
                                     new_password=form.cleaned_data["new_password"])
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return False
    update_session_auth_hash(request, request.user)
    messages.success(request, _("Your password has been changed."))
    return True


@method_decorator(never_cache, name="dispatch")
class PasswordChangeRequiredView(View):
    """First login (the default password) or an expired password: change it before
    anything else (spec §19.4–5)."""

    template_name = "accounts/password_change_required.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect("login")
        return super().dispatch(request, *args, **kwargs)

    def _reason(self, user):
        if user.must_change_password:
            return _("This is your first sign-in with a password set for you: choose your own password.")
        return _("Your password has expired: choose a new one to continue.")

    def get(self, request):
        user = request.user
        if not (user.must_change_password or user.password_expired()):
            return redirect("dashboard")
        return render(request, self.template_name, {"form": PasswordChangeForm(), "reason": self._reason(user)})

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if submit_password_change(request, form):
            return redirect("dashboard")
        return render(request, self.template_name, {"form": form, "reason": self._reason(request.user)})


@method_decorator(never_cache, name="dispatch")
class PasswordResetRequestView(View):
    template_name = "accounts/password_reset.html"

    def get(self, request):
        return render(request, self.template_name, {"form": PasswordResetRequestForm()})

    def post(self, request):
        form = PasswordResetRequestForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        email = form.cleaned_data["email"]
        if not services.password_reset_allowed(email):
            form.add_error(None, _("Too many reset requests for this address. Try again in 5 minutes."))
            return render(request, self.template_name, {"form": form}, status=429)
        for user in User.objects.filter(email__iexact=email, is_active=True):
            link = request.build_absolute_uri(reverse("password_reset_confirm", kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user)}))
            with translation.override(user.language):
                body = render_to_string("accounts/email/password_reset.txt", {"user": user, "link": link})
                send_mail(_("Reset your Herald password"), body, settings.DEFAULT_FROM_EMAIL, [user.email])
        # Same answer whether or not the address is known: no account enumeration.
        return redirect("password_reset_done")


class PasswordResetSentView(View):
    def get(self, request):
        return render(request, "accounts/password_reset_sent.html")


@method_decorator(never_cache, name="dispatch")
class PasswordResetConfirmView(View):
    template_name = "accounts/password_reset_confirm.html"

    def _user(self, uidb64, token):
        try:
            user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
        except (User.DoesNotExist, ValueError, TypeError, OverflowError):
            return None
        return user if default_token_generator.check_token(user, token) else None

    def get(self, request, uidb64, token):
        user = self._user(uidb64, token)
        return render(request, self.template_name, {"form": SetPasswordForm(), "valid": user is not None})

    def post(self, request, uidb64, token):
        user = self._user(uidb64, token)
        if user is None:
            return render(request, self.template_name, {"form": SetPasswordForm(), "valid": False})
        form = SetPasswordForm(request.POST)
        if form.is_valid():
            try:
                services.reset_password(user=user, new_password=form.cleaned_data["new_password"],
                                        ip=client_ip(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Your password has been reset. Sign in with the new password."))
                return redirect("login")
        return render(request, self.template_name, {"form": form, "valid": True})

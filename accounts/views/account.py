"""*My account* (spec §16): Account settings (profile, avatar, appearance, language) and
Privacy and Security (change password, two-factor authentication, delete account; the
two-factor actions are in ``accounts.views.two_factor``).

Every write goes through ``accounts.services``; these views only parse input, show errors
and redirect.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import services, twofactor
from accounts.forms import apply_service_errors
from accounts.forms_account import (
    AvatarForm,
    BasicInfoForm,
    ChangePasswordForm,
    ContactInfoForm,
    DeleteAccountForm,
    PreferencesForm,
    TwoFactorCodeForm,
    TwoFactorDisableForm,
    TwoFactorPhoneForm,
)
from accounts.models import Language, Theme
from accounts.passwords import generate_password
from accounts.views.auth import submit_password_change
from portal.access import PortalAccessMixin

SECTIONS = ("basic", "contact")


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


# --- Account settings -----------------------------------------------------------------------------

def _profile_initial(user) -> dict:
    return {"first_name": user.first_name, "middle_name": user.middle_name, "last_name": user.last_name,
            "email": user.email, "phone": user.phone}


def render_settings(request, *, status=200, editing: str | None = None, basic_form=None, contact_form=None,
                    avatar_form=None, preferences_form=None):
    user = request.user
    initial = _profile_initial(user)
    context = {
        "basic_form": basic_form or BasicInfoForm(initial=initial),
        "contact_form": contact_form or ContactInfoForm(initial=initial),
        "avatar_form": avatar_form or AvatarForm(),
        "preferences_form": preferences_form or PreferencesForm(initial={"theme": user.theme,
                                                                         "language": user.language}),
        "editing": editing if editing in SECTIONS else "",
        "roles": list(user.roles.all()),
        "themes": Theme.choices,
        "languages": Language.choices,
        "avatar_max_mb": 2,
        "active_tab": "settings",
    }
    return render(request, "accounts/settings.html", context, status=status)


@method_decorator(never_cache, name="dispatch")
class SettingsView(PortalAccessMixin, View):
    """GET shows the page; POST saves one section (*Basic information* or *Contact information*)."""

    def get(self, request):
        return render_settings(request, editing=request.GET.get("edit"))

    def post(self, request):
        section = request.POST.get("section")
        if section not in SECTIONS:
            messages.error(request, _("Unknown section."))
            return redirect("account:settings")
        form_class = BasicInfoForm if section == "basic" else ContactInfoForm
        form = form_class(request.POST)
        if form.is_valid():
            try:
                services.update_profile(actor=self.actor, user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                request.user.refresh_from_db()
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Your profile has been saved."))
                return redirect("account:settings")
        forms = {"basic_form" if section == "basic" else "contact_form": form}
        return render_settings(request, editing=section, **forms)


@method_decorator(never_cache, name="dispatch")
class AvatarView(PortalAccessMixin, View):
    """Upload (checked by content, max 2 MB, stored as a 256x256 PNG) or remove the avatar."""

    def get(self, request):
        return redirect("account:settings")

    def post(self, request):
        if request.POST.get("action") == "remove":
            if request.user.avatar:
                services.set_avatar(actor=self.actor, user=request.user, upload=None)
                messages.success(request, _("Your avatar has been removed."))
            return redirect("account:settings")
        form = AvatarForm(request.POST, request.FILES)
        if form.is_valid():
            services.set_avatar(actor=self.actor, user=request.user, upload=form.cleaned_data["avatar"])
            messages.success(request, _("Your avatar has been updated."))
            return redirect("account:settings")
        return render_settings(request, avatar_form=form)


@method_decorator(never_cache, name="dispatch")
class PreferencesView(PortalAccessMixin, View):
    """*Appearance* (light / dark / system) and *Language* (English / Español). The new
    language applies from the next page on: the security middleware activates
    ``user.language`` on every request; the cookie keeps it after sign-out."""

    def get(self, request):
        return redirect("account:settings")

    def post(self, request):
        form = PreferencesForm(request.POST)
        if not form.is_valid():
            return render_settings(request, preferences_form=form)
        user = request.user
        old_language = user.language
        services.set_preferences(user=user, theme=form.cleaned_data["theme"] or None,
                                 language=form.cleaned_data["language"] or None)
        with translation.override(user.language):
            if user.language != old_language:
                messages.success(request, _("Language changed to %(name)s.") % {
                    "name": Language(user.language).label})
            else:
                messages.success(request, _("Your preferences have been saved."))
        response = redirect(_safe_next(request, reverse("account:settings")))
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, max_age=365 * 24 * 3600,
                            samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        return response


# --- Privacy and Security -------------------------------------------------------------------------

def render_security(request, *, status=200, password_form=None, delete_form=None, delete_step: int = 0,
                    phone_form=None, code_form=None, disable_form=None, twofa_panel: str = ""):
    """The Privacy and Security page. ``twofa_panel`` opens a part of the *Two-factor
    authentication* section: ``add`` (phone number), ``edit`` (new number / disable) or
    ``disable`` (the confirmation dialog); a code that is waiting opens the code step."""
    user = request.user
    pending = twofactor.pending_setup(user)
    context = {
        "password_form": password_form or ChangePasswordForm(),
        "password_open": password_form is not None,
        "delete_form": delete_form or DeleteAccountForm(),
        "delete_step": delete_step,
        "next_change_at": services.next_password_change_at(user),
        "password_expires_at": user.password_expires_at(),
        "is_admin": user.is_company_admin,
        "confirmation_word": services.DELETE_ACCOUNT_CONFIRMATION,
        "active_tab": "security",
        "twofa_pending": pending,
        "twofa_pending_phone": twofactor.mask_phone(pending.phone) if pending else "",
        "twofa_phone_form": phone_form or TwoFactorPhoneForm(
            require_password=user.two_factor_enabled,
            initial={"phone": "" if user.two_factor_enabled else user.phone}),
        "twofa_code_form": code_form or TwoFactorCodeForm(),
        "twofa_disable_form": disable_form or TwoFactorDisableForm(),
        "twofa_panel": "" if pending and twofa_panel in ("add", "edit") else twofa_panel,
    }
    return render(request, "accounts/security.html", context, status=status)


@method_decorator(never_cache, name="dispatch")
class SecurityView(PortalAccessMixin, View):
    """GET shows the page; POST changes the user's own password (policy of spec §19)."""

    def get(self, request):
        form = ChangePasswordForm() if request.GET.get("change") else None
        panel = request.GET.get("twofa", "")
        return render_security(request, password_form=form,
                               twofa_panel=panel if panel in ("add", "edit", "disable") else "")

    def post(self, request):
        form = ChangePasswordForm(request.POST)
        if submit_password_change(request, form):
            return redirect("account:security")
        return render_security(request, password_form=form)


@method_decorator(never_cache, name="dispatch")
class DeleteAccountView(PortalAccessMixin, View):
    """*Danger zone* → *Delete account*. The service checks the password and the typed
    word; afterwards the user is signed out and sent to the sign-in page."""

    def get(self, request):
        return redirect("account:security")

    def post(self, request):
        form = DeleteAccountForm(request.POST)
        if form.is_valid():
            user = request.user
            try:
                services.delete_own_account(actor=self.actor, user=user, password=form.cleaned_data["password"],
                                            confirmation=form.cleaned_data["confirmation"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                language = user.language
                logout(request)
                with translation.override(language):
                    messages.success(request, _("Your account has been deleted."))
                return redirect("login")
        # The password is never sent back to the browser, so the dialog reopens at its first step.
        return render_security(request, delete_form=form, delete_step=1)


@never_cache
@login_required
@require_GET
def generate_password_view(request):
    """The *Generate* button: a strong password that satisfies the policy, as JSON."""
    return JsonResponse({"password": generate_password()})

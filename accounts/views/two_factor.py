"""Privacy and Security → *Two-factor authentication* (spec §16.2): add a phone number and
confirm it with a code, change the number (confirmed on the new number), resend, cancel,
and disable. The rules are in ``accounts.twofactor``; these views parse the input, show
the errors on the Privacy and Security page and redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from accounts import twofactor
from accounts.forms import apply_service_errors
from accounts.forms_account import TwoFactorCodeForm, TwoFactorDisableForm, TwoFactorPhoneForm
from accounts.models import LoginCodePurpose
from accounts.views.account import render_security
from portal.access import PortalAccessMixin


class _TwoFactorView(PortalAccessMixin, View):
    def get(self, request):
        return redirect("account:security")


@method_decorator(never_cache, name="dispatch")
class SendCodeView(_TwoFactorView):
    """*Get verification code*: 2FA off → the number to turn it on with; 2FA on → a new
    number (with the current password)."""

    def post(self, request):
        user = request.user
        enabled = user.two_factor_enabled
        form = TwoFactorPhoneForm(request.POST, require_password=enabled)
        if form.is_valid():
            try:
                if enabled:
                    row = twofactor.request_phone_change(user=user, phone=form.cleaned_data["phone"],
                                                         password=form.cleaned_data["password"])
                else:
                    row = twofactor.request_enable(user=user, phone=form.cleaned_data["phone"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("We sent a code to %(phone)s.") % {
                    "phone": twofactor.mask_phone(row.phone)})
                return redirect("account:security")
        return render_security(request, phone_form=form, twofa_panel="edit" if enabled else "add")


@method_decorator(never_cache, name="dispatch")
class ConfirmCodeView(_TwoFactorView):
    def post(self, request):
        form = TwoFactorCodeForm(request.POST)
        if form.is_valid():
            try:
                purpose = twofactor.confirm_setup(actor=self.actor, user=request.user, code=form.cleaned_data["code"])
            except ValidationError as exc:
                if twofactor.pending_setup(request.user) is None:  # nothing to enter a code into any more
                    for message in exc.messages:
                        messages.error(request, message)
                    return redirect("account:security")
                apply_service_errors(form, exc)
            else:
                if purpose == LoginCodePurpose.ENABLE:
                    messages.success(request, _("Two-factor authentication is on: signing in now asks for a code "
                                                "sent to %(phone)s.") % {"phone": request.user.phone})
                else:
                    messages.success(request, _("Your sign-in codes now go to %(phone)s.") % {
                        "phone": request.user.phone})
                return redirect("account:security")
        return render_security(request, code_form=form)


@method_decorator(never_cache, name="dispatch")
class ResendCodeView(_TwoFactorView):
    def post(self, request):
        try:
            row = twofactor.resend_setup(user=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("A new code was sent to %(phone)s.") % {
                "phone": twofactor.mask_phone(row.phone)})
        return redirect("account:security")


@method_decorator(never_cache, name="dispatch")
class CancelCodeView(_TwoFactorView):
    def post(self, request):
        twofactor.cancel_setup(user=request.user)
        return redirect("account:security")


@method_decorator(never_cache, name="dispatch")
class DisableView(_TwoFactorView):
    """*Disable* in the confirmation dialog: the current password."""

    def post(self, request):
        form = TwoFactorDisableForm(request.POST)
        if form.is_valid():
            try:
                twofactor.disable(actor=self.actor, user=request.user, password=form.cleaned_data["password"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Two-factor authentication is off: signing in asks only for your "
                                            "password."))
                return redirect("account:security")
        return render_security(request, disable_form=form, twofa_panel="disable")

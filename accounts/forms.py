"""Forms parse and validate input; the rules themselves live in accounts.services."""

from django import forms
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    login = forms.CharField(label=_("Login"), max_length=150,
                            widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    remember_me = forms.BooleanField(label=_("Remember me"), required=False)


class CodeField(forms.CharField):
    """A 6-digit code from an SMS (the rules are checked in ``accounts.twofactor``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Verification code"))
        kwargs.setdefault("max_length", 12)
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
            "placeholder": "123456", "spellcheck": "false", "size": 8}))
        super().__init__(**kwargs)


class LoginCodeForm(forms.Form):
    """The second sign-in step of a user with two-factor authentication."""

    code = CodeField()


class SetPasswordForm(forms.Form):
    new_password = forms.CharField(label=_("New password"), strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    confirm_password = forms.CharField(label=_("Confirm password"), strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("confirm_password"):
            self.add_error("confirm_password", _("The two passwords do not match."))
        return data


class PasswordChangeForm(SetPasswordForm):
    """A user changes their own password: the current one, then the new one twice."""

    current_password = forms.CharField(label=_("Current password"), strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    field_order = ["current_password", "new_password", "confirm_password"]


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))


def apply_service_errors(form, exc):
    """Put a service's ValidationError on the form's fields (unknown fields: form-wide)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)

"""Forms of the *My account* pages (spec §16): Account settings and Privacy and Security.

They parse and validate input; the rules themselves live in ``accounts.services``. The one
exception is the avatar: checking that an upload really is an image and turning it into a
256x256 PNG is input handling, so it happens here.
"""

from __future__ import annotations

import io

from django import forms
from django.core.files.base import ContentFile
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts.forms import CodeField, PasswordChangeForm
from accounts.models import Language, Theme

AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_SIZE = 256
AVATAR_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
# A 2 MB file can still decompress to a huge bitmap; refuse anything above this many pixels.
AVATAR_MAX_PIXELS = 40_000_000


class BasicInfoForm(forms.Form):
    """*Basic information*: the full name and e-mail (login and roles are read-only)."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    middle_name = forms.CharField(label=_("Middle name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class ContactInfoForm(forms.Form):
    """*Contact information*: the phone number (company and department are read-only)."""

    phone = forms.CharField(
        label=_("Phone number"), max_length=32, required=False,
        validators=[RegexValidator(r"^\+?[0-9][0-9 ()\-]{2,30}$",
                                   _("Enter a phone number: digits, optionally starting with + "
                                     "(spaces, dashes and brackets are allowed)."))],
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "placeholder": "+34 600 000 000"}),
    )


class AvatarForm(forms.Form):
    avatar = forms.FileField(label=_("Avatar"), widget=forms.ClearableFileInput(
        attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}))

    def clean_avatar(self) -> ContentFile:
        """Accept only a real PNG, JPEG, GIF or WebP image of at most 2 MB, judged by its
        content (not its name), and return it as a 256x256 PNG."""
        upload = self.cleaned_data["avatar"]
        if upload.size > AVATAR_MAX_BYTES:
            raise forms.ValidationError(
                _("The image is too large (%(size).1f MB). The maximum is 2 MB.") % {"size": upload.size / 1048576},
                code="too_large")
        not_an_image = forms.ValidationError(
            _("This file is not an image. Upload a PNG, JPEG, GIF or WebP picture."), code="not_image")
        try:
            upload.seek(0)
            data = upload.read()
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in AVATAR_FORMATS:
                    raise not_an_image
                if probe.width * probe.height > AVATAR_MAX_PIXELS:
                    raise forms.ValidationError(_("The image has too many pixels. Use a smaller picture."),
                                                code="too_many_pixels")
                probe.verify()  # detects truncated or corrupt files
            with Image.open(io.BytesIO(data)) as image:  # verify() leaves the image unusable: open again
                image = ImageOps.exif_transpose(image)
                image = image.convert("RGBA")
                image = ImageOps.fit(image, (AVATAR_SIZE, AVATAR_SIZE), method=Image.Resampling.LANCZOS)
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=True)
        except forms.ValidationError:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
            raise not_an_image
        return ContentFile(out.getvalue(), name="avatar.png")


class PreferencesForm(forms.Form):
    """*Appearance* and *Language*; a field left out keeps its current value."""

    theme = forms.ChoiceField(label=_("Appearance"), choices=Theme.choices, required=False,
                              widget=forms.RadioSelect)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, required=False,
                                 widget=forms.RadioSelect)

    def clean(self):
        data = super().clean()
        if not data.get("theme") and not data.get("language"):
            raise forms.ValidationError(_("Choose a theme or a language."))
        return data


class ChangePasswordForm(PasswordChangeForm):
    """*Change password* on the Privacy and Security page. The widgets carry the Alpine
    bindings of the *Generate* and show/hide buttons."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, model in (("new_password", "newPassword"), ("confirm_password", "confirmPassword")):
            self.fields[name].widget.attrs.update({"x-model": model, ":type": "reveal ? 'text' : 'password'"})


class DeleteAccountForm(forms.Form):
    """*Danger zone* → *Delete account*: the current password, then the word ``delete-account``."""

    password = forms.CharField(label=_("Current password"), strip=False, widget=forms.PasswordInput)
    confirmation = forms.CharField(label=_("Confirmation"), max_length=50)


class TwoFactorPhoneForm(forms.Form):
    """*Two-factor authentication* → *Add phone number* (2FA off) or *Edit phone number*
    (2FA on: the current password is asked too)."""

    phone = forms.CharField(
        label=_("Phone number"), max_length=32,
        help_text=_("A mobile number that can receive SMS, e.g. +34 612 345 678."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "placeholder": "+34 612 345 678"}))
    password = forms.CharField(label=_("Current password"), strip=False, required=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, require_password: bool = False, **kwargs):
        kwargs.setdefault("auto_id", "twofa_%s")
        super().__init__(*args, **kwargs)
        self.require_password = require_password
        if require_password:
            self.fields["phone"].label = _("New phone number")
            self.fields["password"].required = True
        else:
            del self.fields["password"]


class TwoFactorCodeForm(forms.Form):
    code = CodeField()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "twofa_%s")
        super().__init__(*args, **kwargs)


class TwoFactorDisableForm(forms.Form):
    password = forms.CharField(label=_("Current password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "twofa_disable_%s")
        super().__init__(*args, **kwargs)

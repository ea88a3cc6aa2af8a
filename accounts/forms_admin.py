"""Forms of the company-admin pages: users, roles, departments, API accesses."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiScope, Language, Role
from portal.permissions import CATALOGUE


class UserForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    middle_name = forms.CharField(label=_("Middle name"), max_length=150, required=False)
    department = forms.ModelChoiceField(label=_("Department"), queryset=None, required=False)
    new_department = forms.CharField(label=_("Or create a new department"), max_length=100, required=False,
                                     help_text=_("New departments are created by an Admin user."))
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    login = forms.CharField(label=_("Login"), max_length=150)
    password = forms.CharField(label=_("Password"), strip=False, required=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False))
    email = forms.EmailField(label=_("E-mail"))
    phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)
    two_factor_enabled = forms.BooleanField(label=_("Two Factor Authentication"), required=False)
    is_active = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    unrestricted = forms.BooleanField(label=_("No restrictions"), required=False,
                                      help_text=_("Unrestricted access to all objects and actions (Admin)."))
    roles = forms.ModelMultipleChoiceField(label=_("Role"), queryset=None, required=False,
                                           widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, company, creating: bool, can_create_department: bool, **kwargs):
        super().__init__(*args, **kwargs)
        from accounts import selectors

        self.fields["department"].queryset = selectors.departments_for(company)
        self.fields["roles"].queryset = selectors.roles_for(company)
        if creating:
            self.fields["password"].required = True
            self.fields["password"].help_text = _("A default password: the user must change it at first sign-in.")
        else:
            self.fields["password"].help_text = _("Leave blank to keep the current password.")
        if not can_create_department:
            del self.fields["new_department"]

    def clean(self):
        data = super().clean()
        if not data.get("department") and not data.get("new_department"):
            self.add_error("department", _("Choose a department."))
        return data


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=40, widget=forms.TextInput(attrs={"maxlength": 40}))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    template = forms.ModelChoiceField(label=_("Template"), queryset=None, required=False,
                                      help_text=_("A role whose permissions pre-fill this form."))
    permissions = forms.MultipleChoiceField(label=_("Permissions"), choices=[(p.code, p.label) for p in CATALOGUE],
                                            widget=forms.CheckboxSelectMultiple, required=False)

    def __init__(self, *args, company, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = Role.objects.available_to(company).order_by("company_id", "name")


class DepartmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class ApiAccessForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    webhook_url = forms.CharField(label=_("Webhook"), required=False, max_length=500,
                                  help_text=_("URL that receives delivery statuses and inbound messages."))
    scopes = forms.MultipleChoiceField(label=_("Scopes"), choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple)
    allowed_senders = forms.CharField(label=_("Senders"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text=_("Sender IDs this key may use, comma or line separated; empty = all."))
    ip_allowlist = forms.CharField(label=_("IP allow-list"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text=_("Addresses or networks (203.0.113.7, 203.0.113.0/24); empty = any."))

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "webhook_url": data["webhook_url"].strip(), "scopes": data["scopes"],
                "allowed_senders": _lines(data["allowed_senders"]), "ip_allowlist": _lines(data["ip_allowlist"])}

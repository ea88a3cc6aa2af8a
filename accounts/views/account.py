"""Pages: being written."""
from django.views import View

class AvatarView(View):
    pass


class DeleteAccountView(View):
    pass


class PreferencesView(View):
    pass


class SecurityView(View):
    pass


class SettingsView(View):
    pass


def generate_password_view(request):
    pass



from django.contrib.auth.backends import ModelBackend


class LoginBackend(ModelBackend):
    """Authenticates by login. Lock and policy checks live in
    ``accounts.services.authenticate_login``; the login form calls that."""

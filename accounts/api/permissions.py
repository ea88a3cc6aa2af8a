"""API permissions: a valid key, and the scope a view requires (``required_scope``)."""

from rest_framework.permissions import BasePermission

from accounts.models import ApiAccess


class HasApiKey(BasePermission):
    message = "Authentication with an API key is required."

    def has_permission(self, request, view):
        if not isinstance(request.auth, ApiAccess):
            return False
        scope = getattr(view, "required_scope", None)
        if scope and scope not in request.auth.scopes:
            self.message = f"This API key lacks the '{scope}' scope."
            return False
        return True

"""API permissions: a valid key, and the scope a view requires (``required_scope``).

The five scopes are those of the API Accesses page (spec §14): ``recipients``,
``broadcast``, ``crm``, ``omni-api``, ``dids``. A view without ``required_scope`` (``/me``)
needs only a valid key.
"""

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from accounts.models import ApiAccess

NO_KEY_MESSAGE = ("Authentication with an API key is required: send it as the X-API-Key header, "
                  "as Authorization: Bearer <key>, or as the access_token query parameter.")


class HasApiKey(BasePermission):
    message = NO_KEY_MESSAGE

    def has_permission(self, request, view):
        if not isinstance(request.auth, ApiAccess):
            raise exceptions.NotAuthenticated(NO_KEY_MESSAGE)
        scope = getattr(view, "required_scope", None)
        if scope and scope not in request.auth.scopes:
            self.message = f"This API key lacks the '{scope}' scope."
            return False
        return True

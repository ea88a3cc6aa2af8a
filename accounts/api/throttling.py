"""Per-key throttling (HTTP 429 with Retry-After)."""

from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiAccess


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiAccess):
            return self.cache_format % {"scope": self.scope, "ident": f"key{request.auth.pk}"}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

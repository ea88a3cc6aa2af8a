"""Per-key throttling (HTTP 429 with ``Retry-After``), API seed §1.4: 1000 requests a minute
by default (``HERALD_API_RATE``). Requests without a valid key are refused before throttling;
the schema and docs pages, which need no key, are throttled per client IP."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiAccess


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self):
        # Read the rate on each request: DRF binds THROTTLE_RATES at import time, so an
        # overridden REST_FRAMEWORK setting (tests) would otherwise be ignored.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiAccess):
            return self.cache_format % {"scope": self.scope, "ident": f"key{request.auth.pk}"}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

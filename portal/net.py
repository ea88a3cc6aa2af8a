"""Client IP address, trusting X-Forwarded-For only from configured proxies."""

from django.conf import settings


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded and remote in settings.HERALD_TRUSTED_PROXIES:
        # The right-most address not belonging to a trusted proxy is the client.
        for addr in reversed([a.strip() for a in forwarded.split(",") if a.strip()]):
            if addr not in settings.HERALD_TRUSTED_PROXIES:
                return addr
    return remote

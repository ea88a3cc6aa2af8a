from django.conf import settings
from django.utils.functional import SimpleLazyObject

from portal.menu import menu_for


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"herald_version": settings.HERALD_VERSION}
    return {
        "herald_version": settings.HERALD_VERSION,
        # Built when a template shows it (the shell), not for every partial an htmx request renders.
        "menu": SimpleLazyObject(lambda: menu_for(user, request.path)),
    }

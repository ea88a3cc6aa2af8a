from django.conf import settings

from portal.menu import menu_for


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"herald_version": settings.HERALD_VERSION}
    return {
        "herald_version": settings.HERALD_VERSION,
        "menu": menu_for(user, request.path),
    }

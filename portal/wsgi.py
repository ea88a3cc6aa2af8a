import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

from messaging.services.dispatch import kick_in_background  # noqa: E402
from portal import memory  # noqa: E402 - after Django is set up

kick_in_background()  # dispatch kicks on a thread of their own, not in the request (D86)
memory.freeze()  # the objects loaded so far live as long as the process (portal/memory.py)

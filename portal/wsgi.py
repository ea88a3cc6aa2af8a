import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

from portal import memory  # noqa: E402 - after Django is set up

memory.freeze()  # the objects loaded so far live as long as the process (portal/memory.py)

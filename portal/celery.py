"""The Celery application. Broker: Redis in production, ``memory://`` in the embedded
default (where ``runherald`` runs the worker and beat inside the web process)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("herald")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

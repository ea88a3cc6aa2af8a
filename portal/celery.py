"""The Celery application. Broker: Redis in production, ``memory://`` in the embedded
default (where ``runherald`` runs the worker and beat inside the web process)."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("herald")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _freeze_start_up_objects(**_kwargs) -> None:
    """A worker process has Django and the tasks loaded: no garbage collection walks them
    again (``portal.memory``)."""
    from portal import memory

    memory.freeze()

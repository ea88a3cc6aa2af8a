"""The scheduler of broadcast templates (beat): launches the templates whose next launch
has come. See ``broadcasts.services.templates.launch_due``."""

from __future__ import annotations

from celery import shared_task


@shared_task
def launch_due_templates() -> dict:
    """Every few seconds: each due Active schedule makes its run (Launch = *Recurrent*)
    once, even when two beat processes send this task at the same time."""
    from broadcasts.services import templates

    return templates.launch_due()

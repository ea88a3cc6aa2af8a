from celery import shared_task

from . import services


@shared_task
def lock_inactive_accounts():
    return services.lock_inactive_accounts()

"""Celery tasks of the contact base: unpack ids, call one service."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import imports


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, retry_backoff_max=60, max_retries=5)
def run_import(import_id: int) -> str:
    """Run or resume one import. Safe to deliver twice: a second worker finds the lease
    taken and returns; a redelivery after a crash resumes from the checkpoint."""
    return imports.run_import(import_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_import(import_id: int, key: str) -> None:
    """Check a big file against its mapping in the background (steps 4 and 5)."""
    imports.check_import(import_id, key)


@shared_task(acks_late=True)
def build_error_report(import_id: int) -> None:
    """Write a finished import's rejected rows to XLSX, then drop its work files."""
    from .models import ContactImport

    imp = ContactImport.objects.filter(pk=import_id).first()
    if imp is not None:
        imports.error_report(imp, cleanup=True)


@shared_task(acks_late=True)
def refresh_statistics(import_id: int) -> None:
    """After a big import: the planner's figures for the contact tables (PostgreSQL)."""
    imports.refresh_statistics(import_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, retry_backoff_max=60, max_retries=5)
def run_mass_edit(job_id: int) -> str:
    """Run or continue one mass edit job (safe to deliver twice: see the service)."""
    from .models import MassEditJob
    from .services import run_mass_edit_job

    job = MassEditJob.objects.filter(pk=job_id).first()
    return run_mass_edit_job(job) if job is not None else "gone"

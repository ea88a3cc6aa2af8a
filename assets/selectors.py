"""Reads of a company's assets (always scoped to one company: another company's id is
simply not found)."""

from __future__ import annotations

from assets.models import ContentTemplate, Media


def content_templates_for(company):
    """The company's content templates, newest first."""
    return ContentTemplate.objects.for_company(company)


def content_template(company, template_id) -> ContentTemplate | None:
    """The company's template ``template_id``, or None (unknown id, another company's, or
    not an integer)."""
    try:
        template_id = int(template_id)
    except (TypeError, ValueError):
        return None
    return content_templates_for(company).filter(pk=template_id).first()


# --- media (spec P§11.1) ------------------------------------------------------------------------

PICKER_LIMIT = 100


def media_for(company):
    """The company's media files, newest first."""
    return Media.objects.for_company(company).order_by("-created_at", "-id")


def media(company, media_id) -> Media | None:
    """The company's media file ``media_id``, or None (unknown id, another company's, or not
    an integer)."""
    try:
        media_id = int(media_id)
    except (TypeError, ValueError):
        return None
    return media_for(company).filter(pk=media_id).first()


def media_picker(company, *, media_type: str = "", query: str = "", limit: int = PICKER_LIMIT):
    """The files the message constructor offers: newest first, at most ``limit``, of one
    media type when given, whose name contains ``query`` (any case)."""
    qs = media_for(company)
    if media_type:
        qs = qs.filter(media_type=media_type)
    query = (query or "").strip()
    if query:
        qs = qs.filter(name__icontains=query)
    return list(qs[:limit])

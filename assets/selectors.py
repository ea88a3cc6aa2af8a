"""Reads of a company's assets (always scoped to one company: another company's id is
simply not found)."""

from __future__ import annotations

from assets.models import ContentTemplate


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

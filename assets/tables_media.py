"""The Media data table (spec P§11.1): Preview, Filename, Media type, Format, Size
(``314 x 400 px``), Weight (``263.55 KB``), Date of upload (``DD.MM.YYYY / HH:MM:SS`` in the
active time zone: the views activate the company's), and the row actions copy link,
download, delete.

Filters: Filename and Format by a substring, Media type by a substring of its label
("image", "vid"), Date of upload by day or range. The same rows render as cards when the
page asks for the card view (``view="cards"``: one ``<tbody>`` per card, laid out as a grid
by ``static/css/media.css``)."""

from __future__ import annotations

from django.db.models import Case, Q, TextField, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.tables import DATE, NUMBER, Column, Table

from .models import MediaType

TABLE, CARDS = "table", "cards"
VIEWS = (TABLE, CARDS)


def upload_time(value) -> str:
    """``DD.MM.YYYY / HH:MM:SS`` in the active time zone (spec P§11.1)."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%d.%m.%Y / %H:%M:%S")


def _type_filter(mode, value):
    if mode == "empty":  # a media type is never empty
        return Q(pk__in=[]) if value else Q()
    text = str(value).strip().casefold()
    return Q(media_type__in=[t.value for t in MediaType if text in str(t.label).casefold() or text in t.value])


def _type_sql(table):
    return Case(*[When(media_type=t.value, then=Value(str(t.label))) for t in MediaType], default=Value(""),
                output_field=TextField())


def preview_html(media):
    if media.is_image:
        inner = (format_html('<img src="{}" alt="" loading="lazy">', media.thumbnail.url) if media.thumbnail
                 else format_html('<span class="media-badge media-badge-{}">{}</span>', media.media_type, media.format))
        return format_html(
            '<button type="button" class="media-thumb" data-lightbox="{}" data-lightbox-name="{}" title="{}" '
            'aria-label="{}">{}</button>', media.file.url, media.name, gettext("Larger view"),
            gettext("Larger view of %(name)s") % {"name": media.name}, inner)
    return format_html('<span class="media-thumb media-badge media-badge-{}" aria-hidden="true">{}</span>',
                       media.media_type, media.format)


def _name_html(media):
    return format_html('<a href="{}" data-action="view">{}</a>', reverse("media:detail", args=[media.pk]), media.name)


class MediaTable(Table):
    key = "media"
    export_name = "media"
    default_sort = "-created_at"
    row_actions_template = "assets/media/_row_actions.html"
    columns = [
        Column("preview", _("Preview"), None, accessor=lambda m: getattr(m, "thumbnail_link", ""), html=preview_html,
               sortable=False, filterable=False),
        Column("name", _("Filename"), "name", html=_name_html),
        Column("media_type", _("Media type"), "media_type", accessor=lambda m: m.get_media_type_display(),
               filter_q=_type_filter, sql=_type_sql),
        Column("format", _("Format"), "format"),
        Column("dimensions", _("Size"), "width", kind=NUMBER, accessor=lambda m: m.dimensions, filterable=False),
        Column("weight", _("Weight"), "size", kind=NUMBER, accessor=lambda m: m.weight, filterable=False),
        Column("created_at", _("Date of upload"), "created_at", kind=DATE, accessor=lambda m: upload_time(m.created_at)),
        Column("link", _("Link"), None, accessor=lambda m: getattr(m, "public_url", ""), default=False,
               sortable=False, filterable=False),
    ]

    def __init__(self, request, queryset, *, view: str = TABLE, extra_context: dict | None = None):
        self.view = view if view in VIEWS else TABLE
        if self.view == CARDS:
            self.row_template = "assets/media/_card.html"
        super().__init__(request, queryset, extra_context=extra_context)

    def prepare_rows(self, objs: list) -> None:
        """The absolute public URLs (copy link, export) of these rows; what a card shows."""
        build = self.request.build_absolute_uri
        for obj in objs:
            obj.public_url = build(obj.file.url) if obj.file else ""
            obj.thumbnail_link = build(obj.thumbnail.url) if obj.thumbnail else ""
            if self.view == CARDS:
                obj.preview_html = preview_html(obj)
                obj.uploaded_text = upload_time(obj.created_at)

"""The Opt-out words data table (spec P§6.9). Date-times are shown in the company's time
zone: the list view renders and exports with that zone active."""

from django.utils.translation import gettext_lazy as _

from portal.tables import DATE, NUMBER, Column, Table


def _sender(word) -> str:
    return word.sender or str(_("Whole channel"))


class OptOutWordTable(Table):
    key = "optout_words"
    export_name = "optout-words"
    default_sort = "word"
    row_actions_template = "contacts/optouts/_row_actions.html"
    columns = [
        Column("word", _("Opt-out word"), "word"),
        Column("channel", _("Channel"), "channel", kind=NUMBER, filterable=False,
               accessor=lambda w: w.get_channel_display()),
        Column("sender", _("Sender ID Name"), "sender", accessor=_sender),
        Column("effective_from", _("Effective from"), "effective_from", kind=DATE),
        Column("effective_till", _("Effective till"), "effective_till", kind=DATE),
        Column("created_at", _("Created"), "created_at", kind=DATE, default=False),
        Column("updated_at", _("Updated"), "updated_at", kind=DATE, default=False),
    ]

"""The messaging channels and their Omni API ids (spec P§0.2, P§21.1). Shared by
contacts (opt-outs, addresses), messaging and broadcasts."""

from django.db import models


class Channel(models.IntegerChoices):
    SMS = 1, "SMS"
    RCS = 2, "RCS"
    VIBER = 3, "Viber"
    WHATSAPP = 4, "WhatsApp"
    WECHAT = 5, "WeChat"
    EMAIL = 6, "Email"
    TELEGRAM = 7, "Telegram"
    PUSH = 8, "Push"
    TTS = 9, "TTS"
    MOBILE_PUSH = 10, "Mobile Push"


# Channels whose address is the contact's phone number.
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.RCS, Channel.VIBER, Channel.WHATSAPP, Channel.TTS,
                            Channel.TELEGRAM})

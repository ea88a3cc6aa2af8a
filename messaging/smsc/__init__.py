"""Herald's SMSC simulator (an SMPP 3.4 server): ``python manage.py smsc_simulator``."""

from messaging.smsc.server import ReceivedSubmit, SmscSimulator

__all__ = ["ReceivedSubmit", "SmscSimulator"]

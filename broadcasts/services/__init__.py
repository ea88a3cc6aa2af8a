"""Broadcast services: runs (``runs``), recipient resolution (``recipients``) and
templates with schedules (``templates``). Every write and business rule of the app."""

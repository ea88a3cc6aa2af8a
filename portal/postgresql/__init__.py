"""Django's PostgreSQL backend with Herald's pool health check (``base.DatabaseWrapper``)."""

"""The router every app's ``api/urls.py`` uses: no trailing slash (``/api/v1/users/7``), as
the API seed writes its paths; a trailing slash answers a JSON 404 that names the right path."""

from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    def __init__(self):
        super().__init__(trailing_slash=False)

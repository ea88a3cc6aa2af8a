"""Cursor pagination for every API list.

``{"next": <url|null>, "previous": <url|null>, "results": [...]}``: the client follows
``next`` until it is null. Cursors are opaque, stable while rows are added, and never scan
with OFFSET, so page 1,000 costs the same as page 1. No total count is computed (a COUNT(*)
on a big table per page is exactly what we want to avoid).
"""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        """A view may set ``pagination_ordering`` (a unique, indexed column first) instead of
        the default newest-first ``-id``."""
        ordering = getattr(view, "pagination_ordering", None)
        if ordering:
            return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return super().get_ordering(request, queryset, view)

    def get_paginated_response_schema(self, schema):
        example = f"https://herald.example.com/api/v1/users?{self.cursor_query_param}=cD0yMDI1LTAzLTAy"
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri", "example": example,
                         "description": "The next page; null on the last page."},
                "previous": {"type": "string", "nullable": True, "format": "uri", "example": None,
                             "description": "The previous page; null on the first page."},
                "results": schema,
            },
        }

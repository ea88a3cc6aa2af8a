from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pagination for API lists (no OFFSET scans on big tables)."""

    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"
    ordering = "-id"

"""Pages: being written."""
from django.views import View

class RoleCreateView(View):
    pass


class RoleDeleteView(View):
    pass


class RoleDetailView(View):
    pass


class RoleListView(View):
    pass


class RoleUpdateView(View):
    pass



"""Pages: being written."""
from django.views import View

class ApiAccessCreateView(View):
    pass


class ApiAccessDeleteView(View):
    pass


class ApiAccessListView(View):
    pass


class ApiAccessRegenerateView(View):
    pass


class ApiAccessUpdateView(View):
    pass



"""Pages: being written."""
from django.views import View

class DepartmentListView(View):
    pass


class UserCreateView(View):
    pass


class UserDeleteView(View):
    pass


class UserListView(View):
    pass


class UserUpdateView(View):
    pass



from django.views import View


class AuditListView(View):
    pass


class AuditDetailsView(View):
    pass


class AuditDetailsCsvView(View):
    pass

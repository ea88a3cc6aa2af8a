"""Base classes for every app's REST API (``<app>/api/views.py`` subclasses these).

Tenant scoping is done here once: the company is the API key's company
(``request.auth.company``) and every queryset comes from a selector called with it, so an
id of another company is simply not found (404, never 403).

A viewset stays thin::

    class DepartmentViewSet(TenantViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
        required_scope = ApiScope.CRM
        model = Department                       # for the OpenAPI generator only
        selector = staticmethod(selectors.departments_for)
        serializer_class = DepartmentOutput      # output serializer (reads)

        def create(self, request):
            data = self.validated_input(DepartmentInput)
            department = services.create_department(actor=self.actor(), company=self.get_company(), **data)
            return self.output(department, status=201)
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions, serializers
from rest_framework import status as http_status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from portal.api import idempotency
from portal.api.errors import flatten_errors
from portal.audit import Actor

# ``POST …?_method=PUT`` (API seed §1.1) for clients that can only send GET and POST. Only a
# POST is ever overridden: a GET stays a GET, so a link can never change or delete data.
METHOD_OVERRIDE_PARAM = "_method"
METHOD_OVERRIDES = frozenset({"PUT", "PATCH", "DELETE"})


class ApiViewMixin:
    """JSON only (errors included), ``?_method=`` override, ``Idempotency-Key`` on every POST
    (``portal/api/idempotency.py``), and the acting key."""

    renderer_classes = [JSONRenderer]
    schema = idempotency.IdempotencyAutoSchema()
    _bad_method_override: str | None = None
    _idempotency_row = None

    def initialize_request(self, request, *args, **kwargs):
        override = request.GET.get(METHOD_OVERRIDE_PARAM)
        if override and request.method == "POST":
            if override.upper() in METHOD_OVERRIDES:
                request.method = override.upper()
            else:
                self._bad_method_override = override
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self._bad_method_override is not None:
            raise exceptions.ParseError(
                f"_method={self._bad_method_override} is not supported; use PUT, PATCH or DELETE with POST.")
        # after authentication, scope and throttling: a 401/403/429 never uses up a key
        self._idempotency_row = idempotency.begin(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)

    def dispatch(self, request, *args, **kwargs):
        try:
            response = super().dispatch(request, *args, **kwargs)
        except BaseException:
            if self._idempotency_row is not None:  # an exception left unhandled (DEBUG): retryable
                idempotency.release(self._idempotency_row)
            raise
        if self._idempotency_row is not None:
            idempotency.finish(self._idempotency_row, response)
            self._idempotency_row = None
        return response

    def get_company(self):
        """The tenant of this request: the API key's company (never None past authentication)."""
        return self.request.auth.company

    def actor(self) -> Actor:
        """Who acts, for services and the audit log: the API key, its IP and company."""
        return Actor.from_request(self.request)


class TenantAPIView(ApiViewMixin, APIView):
    """A single-purpose endpoint (e.g. ``/me``) authenticated by an API key."""


class TenantViewSet(ApiViewMixin, GenericViewSet):
    """A viewset over one company's rows. Set ``selector`` (a function ``company -> queryset``,
    wrapped in ``staticmethod``), ``model`` (for the schema generator) and
    ``serializer_class`` (the output serializer); add the list/retrieve mixins you need and
    write create/update/destroy as a call to one service."""

    selector = None
    model = None
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no key
            return self.model._default_manager.none()
        if self.selector is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a selector")
        return self.selector(self.get_company())

    def validated_input(self, serializer_class, *, data=None, **kwargs) -> dict:
        """Validate the request body with an input serializer; errors become a 422."""
        serializer = serializer_class(data=self.request.data if data is None else data,
                                      context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def output(self, instance, *, status: int = http_status.HTTP_200_OK, serializer_class=None) -> Response:
        serializer_class = serializer_class or self.get_serializer_class()
        return Response(serializer_class(instance, context=self.get_serializer_context()).data, status=status)


class FlatErrorsMixin:
    """Input errors as flat field paths: dotted (``attributes.age``) or, with
    ``error_brackets``, bracketed list positions (``messages[0].senderId``)."""

    error_brackets = False

    def validated_input(self, serializer_class, *, data=None, **kwargs) -> dict:
        try:
            return super().validated_input(serializer_class, data=data, **kwargs)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(flatten_errors(exc.detail, brackets=self.error_brackets)) from exc

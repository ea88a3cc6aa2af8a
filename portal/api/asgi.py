"""A leaner ASGI path for the REST API (``/api/…``): one thread hop per request.

Django's ``ASGIHandler`` runs a sync project (sync views, and middleware that is sync-only
or only partly async-capable) by hopping between the event loop and a worker thread many
times per request: ``request_started``, the sync middleware, back to the loop for the
async-capable ones (whose ``process_request`` / ``process_response`` each hop again), the
view middleware, the view, and ``response.close()`` — about ten hops, each a few hundred
microseconds of CPU. Every API view is sync (the ORM is), so :class:`SyncApiHandler` reads
the body on the loop and then does the whole request — signals, the same middleware (loaded
in their sync mode, which every one of them supports), URL resolution, the view, closing
the response — in **one** call to a worker thread, then sends the bytes.

What stays the same: the middleware list and order, the request object (``ASGIRequest``),
the response (headers, cookies, status), ``request_started`` / ``request_finished`` (so
database connections go back to the pool at the end of each request; the same in-thread
order as under WSGI), and streaming responses (sent as Django sends them, closed
afterwards). What differs: the worker threads come from a pool of ``threads()`` per process
and are reused, as under a threaded WSGI server (Django's handler starts a thread per
request: ``ThreadSensitiveContext``); a client that disconnects mid-request does not cancel
it (a sync view cannot be interrupted under Django's handler either; the answer is simply
not read).

``api_aware(app)`` sends ``/api/`` HTTP requests here and everything else to ``app``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import set_script_prefix

API_PREFIX = "/api/"
# The worker threads of API requests, reused from one request to the next (as a threaded
# WSGI server does): as many requests run Django code at once per process (the database
# pool, HERALD_DB_POOL_MAX, is larger). Django's handler starts a new thread per request.
def threads() -> int:
    """``HERALD_API_THREADS``, or as many as a threaded WSGI server would run (cores + 4)."""
    return int(os.environ.get("HERALD_API_THREADS") or min(32, (os.cpu_count() or 1) + 4))


class SyncApiHandler(ASGIHandler):
    """``ASGIHandler`` whose middleware chain and view run in one worker-thread call."""

    def __init__(self):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="herald-api")

    def _respond(self, scope, body_file):
        """In the worker thread: the whole request, as Django's WSGI handler runs it."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response = error_response if request is None else self.get_response(request)
        response._handler_class = self.__class__
        if not response.streaming:
            response.close()  # request_finished: the content is already in memory
        return response

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await sync_to_async(self._respond, thread_sensitive=False, executor=self.executor)(
                scope, body_file)
            await self.send_response(response, send)
            if response.streaming:
                await sync_to_async(response.close, thread_sensitive=False, executor=self.executor)()
        finally:
            body_file.close()

    async def __call__(self, scope, receive, send):
        await self.handle(scope, receive, send)


def api_aware(app, api_handler=None):
    """An ASGI app: HTTP requests under ``/api/`` go to :class:`SyncApiHandler`, the rest to ``app``."""
    api_handler = api_handler or SyncApiHandler()

    async def application(scope, receive, send):
        if scope["type"] == "http" and scope.get("path", "").startswith(API_PREFIX):
            return await api_handler(scope, receive, send)
        return await app(scope, receive, send)

    return application



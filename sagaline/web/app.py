"""The console as a Starlette application: pages, forms and live streams.

Routes (every state change is a POST guarded by :mod:`sagaline.web.guard`)::

    GET  /runs                      runs: filters, counts by status, pages     live: /live/runs?<filters>
    GET  /runs/{cid}                one run: facts, graph, timeline, steps     live: /live/runs/{cid}
    POST /runs/{cid}/{action}       cancel | retry | resume (asks to confirm without ``confirmed=yes``)
    GET  /sagas, /sagas/{name}      the catalog; a saga's inputs, graph and start form
    POST /sagas/{name}/start        start a run (303 to /runs)
    GET  /tree                      the supervision tree and the daemon's health   live: /live/tree
    GET  /events?name=&cid=         the event bus's newest events               live: /live/events?...

:func:`create_app` builds it; :mod:`sagaline.web.server` serves it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from sagaline.client.errors import BadInput, ClientError, DaemonUnreachable, NotFound, Refused
from sagaline.web.feeds import Hub, TooManyFeeds, stream
from sagaline.web.forms import form_fields, parse_form
from sagaline.web.gateway import Gateway
from sagaline.web.graph import NODE_W
from sagaline.web.guard import (
    SECURITY_HEADERS,
    SESSION_COOKIE,
    TOKEN_FIELD,
    form_token,
    host_ok,
    new_secret,
    new_session,
    origin_ok,
    token_ok,
)
from sagaline.web.pages import Pages
from sagaline.web.settings import WebSettings
from sagaline.web.traces import TraceCache
from sagaline.web.views import FilterProblem, RunFilter, fmt_time

__all__ = ["create_app", "Console"]

_log = logging.getLogger("sagaline.web")
HERE = Path(__file__).parent
#: Form limits: a start form has a few fields; nothing is uploaded.
FORM_LIMITS = {"max_files": 0, "max_fields": 200, "max_part_size": 64 * 1024}
ACTIONS = ("cancel", "retry", "resume")
#: The tree changes seldom and its walk asks every supervisor: it is polled every second poll.
TREE_SLOWER = 2.0


class Forbidden(Exception):
    """A POST that did not come from the console's own page (token or origin)."""


class Guard:
    """ASGI middleware: the Host check, the session cookie, the security headers (:mod:`sagaline.web.guard`)."""

    def __init__(self, app: Any, port: Callable[[], int]) -> None:
        self.app, self.port = app, port

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if not host_ok(headers.get("host"), self.port()):
            refusal = PlainTextResponse(
                "421 misdirected request: open the console by its address "
                "(127.0.0.1 or localhost), not by another name",
                421,
            )
            return await refusal(scope, receive, send)
        session = _cookie(headers.get("cookie"))
        fresh = None if session else new_session()
        scope.setdefault("state", {})["session"] = session or fresh

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    out[name] = value
                if fresh:
                    out.append("set-cookie", f"{SESSION_COOKIE}={fresh}; Path=/; HttpOnly; SameSite=Strict")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _cookie(header: str | None) -> str | None:
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:
        return None
    morsel = jar.get(SESSION_COOKIE)
    value = morsel.value if morsel else None
    return value if value and 20 <= len(value) <= 100 and value.replace("-", "").replace("_", "").isalnum() else None


class Console:
    """The console's state: the daemon's gateway, the live views, the templates, the token key."""

    def __init__(self, settings: WebSettings, gateway: Gateway, telemetry_dir: Any = None) -> None:
        self.settings, self.gateway = settings, gateway
        self.key = new_secret()
        self.port = settings.port
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(fmt_time=fmt_time, node_w=NODE_W)
        self.hub = Hub(settings.poll_s)
        self.pages = Pages(gateway, self._render, TraceCache(telemetry_dir), settings)
        self._flash: dict[str, list[dict[str, str]]] = {}

    def _render(self, name: str, context: dict) -> str:
        return self.templates.get_template(name).render(context)

    # ----- helpers ------------------------------------------------------------------------------

    def page(self, request: Request, name: str, context: dict, status: int = 200) -> Response:
        session = request.state.session
        base = {
            "request": request,
            "token": form_token(self.key, session),
            "token_field": TOKEN_FIELD,
            "flash": self._flash.pop(session, []),
            "nav": name.split(".")[0],
        }
        return self.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    def flash(self, request: Request, kind: str, text: str, href: str = "") -> None:
        if len(self._flash) > 1000:
            self._flash.clear()
        self._flash.setdefault(request.state.session, []).append({"kind": kind, "text": text, "href": href})

    async def checked_form(self, request: Request) -> Any:
        form = await request.form(**FORM_LIMITS)
        if not origin_ok(request.headers.get("origin"), request.headers.get("referer"), request.headers.get("host")):
            raise Forbidden("this request did not come from the console's own page (Origin check)")
        token = form.get(TOKEN_FIELD)
        if not token_ok(self.key, _cookie(request.headers.get("cookie")), token if isinstance(token, str) else None):
            raise Forbidden("the form's session token is missing or wrong: reload the page and try again")
        return form

    def error(self, request: Request, exc: Exception) -> Response:
        status = (
            404
            if isinstance(exc, NotFound)
            else 400
            if isinstance(exc, (FilterProblem, BadInput))
            else 403
            if isinstance(exc, Forbidden)
            else 503
            if isinstance(exc, (DaemonUnreachable, TooManyFeeds))
            else 502
        )
        return self.page(request, "error.html", {"status": status, "message": str(exc)}, status)

    def live(self, key: Any, render: Callable, slower: float = 1.0) -> Response:
        feed = self.hub.feed(key, render, slower)
        return StreamingResponse(stream(feed), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    # ----- pages --------------------------------------------------------------------------------

    async def runs(self, request: Request) -> Response:
        flt = RunFilter.from_query(request.query_params)
        context = await self.pages.runs(flt)
        return self.page(request, "runs.html", {**context, "live": f"/live/runs?{flt.query()}"})

    async def run(self, request: Request) -> Response:
        cid = request.path_params["cid"]
        context = await self.pages.run(cid)
        live = None if context["run"].ended else f"/live/runs/{cid}"
        return self.page(request, "run.html", {**context, "live": live})

    async def action(self, request: Request) -> Response:
        cid, action = request.path_params["cid"], request.path_params["action"]
        if action not in ACTIONS:
            raise NotFound(f"no action {action!r} (known: {', '.join(ACTIONS)})", "not_found")
        form = await self.checked_form(request)
        if form.get("confirmed") != "yes":
            return self.page(request, "confirm.html", {"cid": cid, "action": action})
        try:
            self.flash(request, "ok", *await self._act(cid, action))
        except (Refused, BadInput) as exc:
            self.flash(request, "error", f"{action} refused: {exc}")
        return RedirectResponse(f"/runs/{cid}", 303)

    async def _act(self, cid: str, action: str) -> tuple[str, str]:
        if action == "cancel":
            answer = await self.gateway.call("cancel", cid, reason="cancelled from the web console")
            return (
                f"Cancel accepted: the run is {answer.status}."
                if answer.accepted
                else f"Not cancelled: the run had already ended ({answer.status})."
            ), ""
        answer = await self.gateway.call(action, cid)
        if answer.successor:
            return f"{answer.message or 'Resumed'}: successor run {answer.successor}.", f"/runs/{answer.successor}"
        return answer.message or f"{action} accepted: the run is {answer.status}.", ""

    async def sagas(self, request: Request) -> Response:
        return self.page(request, "sagas.html", await self.pages.sagas())

    async def saga(
        self, request: Request, posted: Any = None, problems: dict | None = None, message: str = "", status: int = 200
    ) -> Response:
        context = await self.pages.saga(request.path_params["name"])
        fields = form_fields(context["saga"]["inputs"], posted)
        return self.page(
            request, "saga.html", {**context, "fields": fields, "problems": problems or {}, "message": message}, status
        )

    async def start(self, request: Request) -> Response:
        name = request.path_params["name"]
        form = await self.checked_form(request)
        context = await self.pages.saga(name)
        values, problems = parse_form(context["saga"]["inputs"], form)
        if problems:
            return await self.saga(request, form, problems, "Some inputs do not fit; nothing was started.", 422)
        try:
            started = await self.gateway.call("start", name, values)
        except BadInput as exc:
            return await self.saga(request, form, {}, f"The daemon refused the inputs: {exc}", 422)
        self.flash(request, "ok", f"Started run {started.correlation_id} of {name}.", f"/runs/{started.correlation_id}")
        return RedirectResponse("/runs", 303)

    async def tree(self, request: Request) -> Response:
        return self.page(request, "tree.html", {**await self.pages.tree(), "live": "/live/tree"})

    async def convention(self, request: Request) -> Response:
        return self.page(request, "convention.html", await self.pages.convention())

    async def events(self, request: Request) -> Response:
        name, cid = _text(request, "name"), _text(request, "cid")
        context = await self.pages.events(name, cid)
        return self.page(request, "events.html", {**context, "live": f"/live/events?{request.url.query}"})

    # ----- live ---------------------------------------------------------------------------------

    async def live_runs(self, request: Request) -> Response:
        flt = RunFilter.from_query(request.query_params)
        return self.live(("runs", flt.query()), lambda: self.pages.runs_parts(flt))

    async def live_run(self, request: Request) -> Response:
        cid = request.path_params["cid"]
        return self.live(("run", cid), lambda: self.pages.run_parts(cid))

    async def live_tree(self, request: Request) -> Response:
        return self.live(("tree",), self.pages.tree_parts, TREE_SLOWER)

    async def live_events(self, request: Request) -> Response:
        name, cid = _text(request, "name"), _text(request, "cid")
        return self.live(("events", name, cid), lambda: self.pages.events_parts(name, cid))


def _text(request: Request, key: str, limit: int = 200) -> str:
    value = request.query_params.get(key, "").strip()
    if len(value) > limit:
        raise FilterProblem(f"{key}: longer than {limit} characters")
    return value


def _guarded(console: Console, handler: Callable) -> Callable:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except (ClientError, FilterProblem, Forbidden, TooManyFeeds) as exc:
            return console.error(request, exc)
        except Exception as exc:  # a bug here must not look like the daemon's fault: say so, log it
            _log.exception("%s %s failed", request.method, request.url.path)
            return console.page(
                request, "error.html", {"status": 500, "message": f"the console failed: {exc!r} (see its log)"}, 500
            )

    return endpoint


def create_app(
    settings: WebSettings | None = None,
    *,
    data_dir: Any = None,
    admin_port: int | None = None,
    host: str | None = None,
    telemetry_dir: Any = None,
    gateway: Gateway | None = None,
) -> Starlette:
    """The console's ASGI application.

    Args:
        settings: Host, port (the Host check uses ``app.state.console.port``: set it to the bound
            port when ``port`` is 0), poll interval, page sizes.
        data_dir / admin_port / host: Where the daemon is (as the CLI finds it).
        telemetry_dir: Where the daemon writes its spans (None: no timelines from spans).
        gateway: A ready gateway instead (tests).
    """
    settings = settings or WebSettings()
    console = Console(settings, gateway or Gateway(data_dir, admin_port, host), telemetry_dir)
    g = lambda handler: _guarded(console, handler)  # noqa: E731
    routes = [
        Route("/", lambda request: RedirectResponse("/runs", 302)),
        Route("/runs", g(console.runs)),
        Route("/runs/{cid}", g(console.run)),
        Route("/runs/{cid}/{action}", g(console.action), methods=["POST"]),
        Route("/sagas", g(console.sagas)),
        Route("/sagas/{name}", g(console.saga)),
        Route("/sagas/{name}/start", g(console.start), methods=["POST"]),
        Route("/tree", g(console.tree)),
        Route("/events", g(console.events)),
        Route("/convention", g(console.convention)),
        Route("/live/runs", g(console.live_runs)),
        Route("/live/runs/{cid}", g(console.live_run)),
        Route("/live/tree", g(console.live_tree)),
        Route("/live/events", g(console.live_events)),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        console.hub.close()
        await console.gateway.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.console = console
    app.add_middleware(Guard, port=lambda: console.port)
    return app

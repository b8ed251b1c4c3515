"""The Starlette application of ``wf ui``: routes, error pages and assets (docs/ui.md)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from wf.config import Config
from wf.dag import load_dag
from wf.dag.render.html import graph_script, graph_stylesheet, render_html
from wf.errors import UsageError, WfError
from wf.health import HealthReport, check_health
from wf.history import RunListing, history_document
from wf.inspection import inspect_run
from wf.rundiff import diff_runs
from wf.storage import AmbiguousRunIdError, RunNotFoundError, RunSummary, Store, StoreError
from wf.web.db import Database, NoDatabase
from wf.web.events import RunWatcher
from wf.web.guard import Guard
from wf.web.logfiles import LogNotFound, confined_log_path, log_range, node_attempts
from wf.web.markup import error_page, run_href, url
from wf.web.pages.diff import diff_page
from wf.web.pages.health import health_page
from wf.web.pages.history import history_page, history_parts
from wf.web.pages.logs import log_page
from wf.web.pages.run import node_states, run_dag, run_page, run_sections
from wf.web.pages.workflows import workflow_path, workflows_page
from wf.web.params import attempt_param, history_query

_STATIC_FILES = {
    "ui.css": "text/css; charset=utf-8",
    "ui.js": "text/javascript; charset=utf-8",
    "graph-ui.css": "text/css; charset=utf-8",
    "graph-ui.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
_GRAPH_ASSETS = (
    ["/static/graph.css", "/static/graph-ui.css"],
    ["/static/graph.js", "/static/graph-ui.js"],
)
_NOT_FOUND = (RunNotFoundError, AmbiguousRunIdError, LogNotFound, NoDatabase)


def _assets() -> dict[str, tuple[bytes, str]]:
    """Every file under /static/: the UI's own, and the html graph's stylesheet and script."""
    root = resources.files("wf.web") / "static"
    out = {name: (root.joinpath(name).read_bytes(), kind) for name, kind in _STATIC_FILES.items()}
    out["graph.css"] = (graph_stylesheet().encode(), "text/css; charset=utf-8")
    out["graph.js"] = (graph_script().encode(), "text/javascript; charset=utf-8")
    return out


class WebUI:
    """The handlers, over one read-only database and the configured directories."""

    def __init__(self, config: Config, *, poll_interval: float | None = None) -> None:
        self.config = config
        self.db = Database(Path(config.database_path))
        self.watcher = (
            RunWatcher(self.db)
            if poll_interval is None
            else RunWatcher(self.db, interval=poll_interval)
        )
        self.assets = _assets()

    # -- helpers ---------------------------------------------------------------------------

    def database_problem(self) -> str | None:
        """Why the database cannot be read now (None when it can, or does not exist yet)."""
        try:
            self.db.optional()
        except StoreError as exc:
            return str(exc)
        return None

    def _store(self) -> Store:
        return self.db.store()

    @staticmethod
    def _html_errors(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def wrapped(request: Request) -> Response:
            try:
                return handler(request)
            except _NOT_FOUND as exc:
                return HTMLResponse(error_page(404, str(exc)), status_code=404)
            except UsageError as exc:
                return HTMLResponse(error_page(400, str(exc)), status_code=400)
            except (StoreError, WfError) as exc:
                return HTMLResponse(error_page(503, str(exc)), status_code=503)

        return wrapped

    @staticmethod
    def _json_errors(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def wrapped(request: Request) -> Response:
            try:
                return handler(request)
            except _NOT_FOUND as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except UsageError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except (StoreError, WfError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=503)

        return wrapped

    # -- pages -----------------------------------------------------------------------------

    def history(self, request: Request) -> Response:
        params = dict(request.query_params)
        query = params.get("q", "").strip()
        if query:
            return self._search(query, params)
        store = self.db.optional()
        if params.get("partial"):
            return HTMLResponse(history_parts(store, params)[1])
        return HTMLResponse(history_page(store, params))

    def _search(self, query: str, params: dict[str, str]) -> Response:
        """A run-ID prefix opens that run; otherwise the text narrows the workflow filter."""
        store = self.db.optional()
        rest = {k: v for k, v in params.items() if k not in ("q", "offset", "partial")}
        if store is not None:
            try:
                return RedirectResponse(run_href(store.resolve_run_id(query)), status_code=303)
            except (RunNotFoundError, AmbiguousRunIdError):
                pass
            names = sorted(store.workflow_stats())
            matches = [n for n in names if query.lower() in n.lower()]
            exact = [n for n in matches if n == query]
            if exact or len(matches) == 1:
                chosen = (exact or matches)[0]
                return RedirectResponse(url("/", {**rest, "workflow": chosen}), status_code=303)
            if matches:
                raise UsageError(f"{query!r} matches several workflows: {', '.join(matches[:20])}")
        raise RunNotFoundError(query)

    def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if request.query_params.get("partial"):
            return JSONResponse(run_sections(self._store(), run_id))
        return HTMLResponse(run_page(self._store(), run_id))

    def run_graph(self, request: Request) -> Response:
        inspection = inspect_run(self._store(), request.path_params["run_id"])
        dag = run_dag(inspection)
        if dag is None:
            raise LogNotFound("this run recorded no graph")
        css, js = _GRAPH_ASSETS
        text = render_html(dag, states=node_states(inspection), stylesheets=css, scripts=js)
        return HTMLResponse(text)

    def log(self, request: Request) -> Response:
        p = request.path_params
        attempt = attempt_param(request.query_params)
        return HTMLResponse(
            log_page(self._store(), Path(self.config.logs_dir), p["run_id"], p["node_id"], attempt)
        )

    def diff(self, request: Request) -> Response:
        p = request.path_params
        return HTMLResponse(diff_page(self._store(), p["run_a"], p["run_b"]))

    def workflows(self, request: Request) -> Response:
        return HTMLResponse(workflows_page(Path(self.config.workflows_dir), self.db.optional()))

    def workflow_graph(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = workflow_path(Path(self.config.workflows_dir), name)
        if path is None:
            raise LogNotFound(f"workflow not found: {name}")
        css, js = _GRAPH_ASSETS
        return HTMLResponse(render_html(load_dag(path), stylesheets=css, scripts=js))

    def health(self, request: Request) -> Response:
        return HTMLResponse(health_page(self._health()))

    def _health(self) -> HealthReport:
        store = self.db.optional()
        return check_health(self.config, store, read_only=True)

    # -- JSON API --------------------------------------------------------------------------

    def api_runs(self, request: Request) -> Response:
        filters, page = history_query(request.query_params)
        store = self.db.optional()
        if store is None:
            return JSONResponse(RunListing(RunSummary()).to_dict())
        return JSONResponse(history_document(store, filters, page))  # = wf runs --json

    def api_run(self, request: Request) -> Response:
        return JSONResponse(inspect_run(self._store(), request.path_params["run_id"]).to_dict())

    def api_diff(self, request: Request) -> Response:
        p = request.path_params
        return JSONResponse(diff_runs(self._store(), p["run_a"], p["run_b"]).to_dict())

    def api_log(self, request: Request) -> Response:
        """The raw bytes of one attempt's log; ``offset`` (negative: from the end) and
        ``length`` read a part of it, and headers tell the size and the attempt's state."""
        store = self._store()
        p, q = request.path_params, request.query_params
        run = store.get_run(p["run_id"])
        selected = node_attempts(store, run.id, p["node_id"], attempt_param(q)).selected
        path = confined_log_path(Path(self.config.logs_dir), selected)
        offset = _int_param(q, "offset", allow_negative=True)
        length = _int_param(q, "length")
        part = log_range(path, offset, length)
        headers = {
            "Content-Length": str(part.count),
            "X-Wf-Log-Size": str(part.size),
            "X-Wf-Log-Start": str(part.start),
            "X-Wf-Attempt": str(selected.attempt),
            "X-Wf-Attempt-State": str(selected.state),
            "X-Wf-Run-Status": str(run.status),
            "Cache-Control": "no-store",
        }
        return StreamingResponse(
            part.blocks(), media_type="text/plain; charset=utf-8", headers=headers
        )

    def api_health(self, request: Request) -> Response:
        return JSONResponse(self._health().to_dict())

    async def api_events(self, request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            self.watcher.stream(), media_type="text/event-stream", headers=headers
        )

    def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        asset = self.assets.get(name)
        if asset is None:
            return Response("not found\n", status_code=404, media_type="text/plain")
        data, kind = asset
        return Response(data, media_type=kind, headers={"Cache-Control": "no-cache"})

    def favicon(self, request: Request) -> Response:
        data, kind = self.assets["favicon.svg"]
        return Response(data, media_type=kind)

    def routes(self) -> list[Route]:
        """Every URL of the UI (GET; HEAD comes with it)."""
        page, api = self._html_errors, self._json_errors
        return [
            Route("/", page(self.history)),
            Route("/runs/{run_id}", page(self.run)),
            Route("/runs/{run_id}/graph", page(self.run_graph)),
            Route("/runs/{run_id}/logs/{node_id:path}", page(self.log)),
            Route("/diff/{run_a}/{run_b}", page(self.diff)),
            Route("/workflows", page(self.workflows)),
            Route("/workflows/{name}/graph", page(self.workflow_graph)),
            Route("/health", page(self.health)),
            Route("/api/runs", api(self.api_runs)),
            Route("/api/runs/{run_id}", api(self.api_run)),
            Route("/api/runs/{run_id}/logs/{node_id:path}", api(self.api_log)),
            Route("/api/diff/{run_a}/{run_b}", api(self.api_diff)),
            Route("/api/health", api(self.api_health)),
            Route("/api/events", self.api_events),
            Route("/static/{name}", self.static),
            Route("/favicon.ico", self.favicon),
        ]


def _int_param(params: Any, name: str, *, allow_negative: bool = False) -> int | None:
    text = str(params.get(name, "")).strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"invalid {name}: {text!r} (expected a whole number)") from None
    if value < 0 and not allow_negative:
        raise UsageError(f"invalid {name}: {text!r} (expected a number >= 0)")
    return value


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "not found"}, status_code=404)
    return HTMLResponse(error_page(404, f"no page at {request.url.path}"), status_code=404)


def create_app(
    config: Config,
    *,
    allowed_hosts: Iterable[str] | None = ("127.0.0.1", "localhost", "::1"),
    poll_interval: float | None = None,
    on_ready: Callable[[], object] | None = None,
) -> Starlette:
    """The UI over CONFIG's database, logs and workflows. ALLOWED_HOSTS are the host names
    requests may be addressed to (None: any). ``app.state.ui`` is the WebUI (its watcher
    counts database polls). ON_READY runs when the server starts the application (the
    server's own signal handling is in place by then)."""
    ui = WebUI(config, poll_interval=poll_interval)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_ready is not None:
            on_ready()
        yield
        ui.db.close()

    app = Starlette(
        routes=ui.routes(),
        middleware=[Middleware(Guard, allowed_hosts=allowed_hosts)],
        exception_handlers={404: _not_found},
        lifespan=lifespan,
    )
    app.state.ui = ui
    return app

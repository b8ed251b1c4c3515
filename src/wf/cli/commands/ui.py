"""``wf ui``: serve the read-only web UI (history, live DAG, logs) until Ctrl+C (docs/ui.md)."""

from __future__ import annotations

import importlib.util
import ipaddress
import signal
import socket
import threading
import webbrowser

import click

from wf.cli.context import app_context
from wf.errors import WfError

MISSING_EXTRA = "the web UI requires the optional 'ui' extra (pip install 'wf[ui]')"


def is_loopback(host: str) -> bool:
    """Whether HOST names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WfError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise WfError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _allowed_hosts(host: str) -> set[str] | None:
    """The Host names requests may carry: the loopback names, or any when serving others."""
    return None if not is_loopback(host) else {"127.0.0.1", "localhost", "::1", host}


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in the web browser.")
def command(host: str, port: int, open_browser: bool) -> int:
    """Serve the web UI: run history, live graphs, logs, diffs and health, read-only.

    It listens on 127.0.0.1 unless --host says otherwise; it has no authentication, so any
    other address lets everyone who can reach it read your runs and logs. Ctrl+C stops it.
    """
    if any(importlib.util.find_spec(name) is None for name in ("starlette", "uvicorn")):
        raise WfError(MISSING_EXTRA)
    import uvicorn

    from wf.web.app import create_app

    config = app_context().config
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{bound}/"
    if not is_loopback(host):  # on stderr before the address: seen by whoever reads it
        click.echo(
            f"warning: listening on {host}: the web UI has no authentication; anyone who "
            "can reach this address can read every run and log",
            err=True,
        )

    def ready() -> None:
        # Printed once uvicorn runs the application: its signal handlers are in place, so a
        # Ctrl+C from the moment this line is seen stops the server (exit 0).
        click.echo(f"wf ui: serving {address} (Ctrl+C to stop)")
        if open_browser:
            threading.Timer(0.5, webbrowser.open, args=(address,)).start()

    app = create_app(config, allowed_hosts=_allowed_hosts(host), on_ready=ready)
    problem = app.state.ui.database_problem()
    if problem:
        click.echo(f"warning: {problem}", err=True)
    # A Ctrl+C while the server starts also ends it with exit 0: Python's own handler is put
    # back first, in case wf was started with SIGINT ignored (a background job of a script,
    # a test runner's worker); uvicorn then takes SIGINT over.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=1,
                lifespan="on",
            )
        )
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0

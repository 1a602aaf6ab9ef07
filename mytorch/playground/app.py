"""The playground's web application: the page, its live connection, the model download.

Routes::

    GET  /                                 the page (static/index.html)
    GET  /static/<name>                    its scripts and style (a fixed list of files)
    GET  /api/options                      what the page may choose from, and the bounds
    GET  /api/sessions/<id>/model.npz      the session's trained model, as a download
    WS   /ws                               the live connection (live.Connection)

Nothing else of the file system can be reached: the static files are a fixed list read
once at start-up. :class:`HostGuard` refuses any request whose ``Host`` is not this
machine's loopback name or an address (a web page on another site cannot reach the
server by pointing its own domain name at 127.0.0.1: DNS rebinding), and any
WebSocket or request with an ``Origin`` other than the page's own.
"""

from __future__ import annotations

import ipaddress
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from mytorch.playground import sharing
from mytorch.playground.checks import options
from mytorch.playground.live import Connection
from mytorch.playground.store import SessionStore

__all__ = ["HostGuard", "create_app"]

#: The page's files by name, and their types.
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "draw.js": "text/javascript; charset=utf-8",
    "panels.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
}
#: The page loads nothing from anywhere else.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _host_name(host: str) -> str:
    """``'127.0.0.1:8765'`` -> ``'127.0.0.1'``, ``'[::1]:80'`` -> ``'::1'``."""
    return urlsplit(f"//{host}").hostname or ""


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostGuard:
    """ASGI middleware: refuse a foreign ``Host`` or ``Origin`` with 403.

    Parameters
    ----------
    app : ASGI application
    names : iterable of str
        Host names accepted besides IP addresses (``localhost``, the ``--host`` given).
    """

    def __init__(self, app: Any, names: Any = ("localhost",)) -> None:
        self.app = app
        self.names = {name.lower() for name in names}

    def allowed(self, headers: dict[str, str]) -> str | None:
        """None if the request may pass, else why not."""
        host = headers.get("host", "")
        name = _host_name(host).lower()
        if not (name in self.names or _is_address(name)):
            return f"refused: unknown Host {host!r} (the playground answers to its address only)"
        origin = headers.get("origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            return f"refused: a page of {origin!r} may not use the playground"
        return None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.allowed(headers)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": refusal[:120]})
        else:
            await PlainTextResponse(refusal, status_code=403)(scope, receive, send)


def _static() -> dict[str, bytes]:
    folder = resources.files("mytorch.playground") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC_FILES}


def create_app(
    store: SessionStore | None = None, host_names: Any = ("localhost",)
) -> tuple[Any, SessionStore]:
    """The playground's ASGI application, behind its :class:`HostGuard`.

    Parameters
    ----------
    store : SessionStore, optional
        Where sessions live (default: a new one, 8 sessions, 15 minutes idle).
    host_names : iterable of str
        Host names the guard accepts besides IP addresses.

    Returns
    -------
    app : ASGI application
    store : SessionStore
    """
    store = SessionStore() if store is None else store
    files = _static()

    def page_file(name: str) -> Response:
        return Response(files[name], media_type=STATIC_FILES[name], headers=SECURITY_HEADERS)

    async def index(request: Request) -> Response:
        return page_file("index.html")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files or name == "index.html":
            return PlainTextResponse("no such file", status_code=404)
        return page_file(name)

    async def api_options(request: Request) -> Response:
        return JSONResponse(options(), headers=SECURITY_HEADERS)

    async def download(request: Request) -> Response:
        session = store.get(request.path_params["session"])
        if session is None:
            return PlainTextResponse("no such session (it closed or expired)", status_code=404)
        from anyio import to_thread

        data = await to_thread.run_sync(sharing.model_file, session)
        name = f"playground-{session.config.dataset}.npz"
        return Response(
            data,
            media_type="application/octet-stream",
            headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def live(socket: WebSocket) -> None:
        await socket.accept()
        await Connection(socket, store).run()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static),
            Route("/api/options", api_options),
            Route("/api/sessions/{session}/model.npz", download),
            WebSocketRoute("/ws", live),
        ]
    )
    return HostGuard(app, host_names), store

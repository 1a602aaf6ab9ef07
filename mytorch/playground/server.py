"""Start the playground: a uvicorn server on this machine, and a browser on its page."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
import webbrowser
from typing import Any

__all__ = ["BackgroundServer", "is_loopback", "serve"]

_MISSING = (
    "mytorch playground needs the playground extra: pip install 'mytorch[playground]' "
    "(Starlette, uvicorn and websockets)"
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (``localhost``, 127.x, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server(host: str, port: int, store: Any = None) -> tuple[Any, socket.socket, str]:
    """A uvicorn server of the app, its bound socket, and the page's address."""
    try:
        import uvicorn

        from mytorch.playground.app import create_app
    except ImportError as error:
        raise ImportError(f"{_MISSING}; missing: {error.name}") from None
    app, _ = create_app(store, host_names={"localhost", host})
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ValueError(f"mytorch playground: cannot listen on {host}:{port}: {error}") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(app, log_level="warning", ws_max_size=65_536, lifespan="off")
    return uvicorn.Server(config), sock, f"http://{shown}:{bound}/"


def serve(
    host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True, stream: Any = None
) -> None:
    """Run the playground until interrupted (Ctrl+C).

    Parameters
    ----------
    host : str
        Address to listen on; a warning is printed unless it is a loopback address.
    port : int
        Port; 0 picks a free one.
    open_browser : bool
        Open the page in the default browser (else only print its address).
    stream : file-like, optional
        Where to print (default ``sys.stdout``).
    """
    stream = sys.stdout if stream is None else stream
    if not is_loopback(host):
        print(
            f"warning: listening on {host}, not only on this machine: anyone who can reach "
            "it can train networks here (use --host 127.0.0.1 to keep it private)",
            file=sys.stderr,
        )
    server, sock, url = _server(host, port)
    from mytorch.playground.session import warm_up

    threading.Thread(target=warm_up, daemon=True).start()
    print(f"MyTorch playground at {url}  (Ctrl+C stops it)", file=stream, flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class BackgroundServer:
    """The playground served from a thread (for tests and notebooks).

    Examples
    --------
    >>> with BackgroundServer() as server:  # doctest: +SKIP
    ...     print(server.url)
    http://127.0.0.1:40123/
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, store: Any = None) -> None:
        self.server, self._sock, self.url = _server(host, port, store)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

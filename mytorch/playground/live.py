"""The live connection of one browser tab: its messages in, frames out.

The page opens a WebSocket and sends JSON messages::

    {"type": "config", "config": {...}}   start (or restart) the run with these settings
    {"type": "play"} / {"type": "pause"}  train continuously / stop
    {"type": "step"}                      train one mini-batch
    {"type": "reset"}                     fresh weights, same settings
    {"type": "speed", "speed": 200}       training steps per second while playing
    {"type": "inspect", "index": 12}      look inside a step for training point 12
    {"type": "export"}                    the command and the Python snippet

and receives ``ready`` (the run, its points, its download address), ``frame`` (the
pictures and curves, at most :data:`FRAMES_PER_SECOND` a second while playing),
``inside`` (one point's back-propagation), ``export`` and ``error`` messages. A message
the server refuses gets an ``error`` with the reason, never a traceback.

The session lives as long as the connection: when the tab closes (or reloads), its
training stops and the session is removed; a silent tab's session expires.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from anyio import to_thread
from starlette.websockets import WebSocket, WebSocketDisconnect

from mytorch.playground import frames, sharing
from mytorch.playground.checks import RequestError, parse_index, parse_setup, parse_speed
from mytorch.playground.inside import inspect_point
from mytorch.playground.session import Session
from mytorch.playground.store import SessionStore

__all__ = ["FRAMES_PER_SECOND", "MAX_MESSAGE", "Connection"]

#: The most frames a second sent while playing (the rest of the time trains).
FRAMES_PER_SECOND = 20
#: The largest message accepted from the page, in characters.
MAX_MESSAGE = 16_384
#: Seconds between two looks inside a step while playing (at least; more for a network
#: whose finite-difference check takes long: at most a tenth of the time goes to it).
INSIDE_EVERY = 1.5


class Connection:
    """One tab's WebSocket and its session.

    Parameters
    ----------
    socket : starlette.websockets.WebSocket
        Accepted by the caller.
    store : SessionStore
        Where the session is registered (capped, expiring).
    """

    def __init__(self, socket: WebSocket, store: SessionStore) -> None:
        self.socket, self.store = socket, store
        self.session: Session | None = None
        self.playing = False
        self.speed = 1
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.socket.send_text(json.dumps(message, allow_nan=False))

    async def error(self, message: str) -> None:
        await self.send({"type": "error", "message": message})

    async def run(self) -> None:
        """Serve the tab until it closes; then stop its training and forget its session."""
        trainer = asyncio.create_task(self._train())
        try:
            while True:
                text = await self.socket.receive_text()
                if self.session is not None:
                    self.session.last_seen = time.monotonic()
                try:
                    await self._handle(text)
                except RequestError as refused:
                    await self.error(str(refused))
        except WebSocketDisconnect:
            pass
        finally:
            trainer.cancel()
            if self.session is not None:
                self.store.remove(self.session.id)

    async def _handle(self, text: str) -> None:
        if len(text) > MAX_MESSAGE:
            raise RequestError(f"message: expected at most {MAX_MESSAGE} characters")
        try:
            message = json.loads(text)
        except json.JSONDecodeError as error:
            raise RequestError(f"message: expected JSON, got an error at {error.pos}") from None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "config":
            await self._configure(message.get("config"))
            return
        session = self.session
        if session is None:
            raise RequestError(f"message: expected 'config' first, got {kind!r}")
        if kind == "play":
            self.playing = not session.finished
            self._wake.set()
        elif kind == "pause":
            self.playing = False
            await self._inside()
        elif kind == "step":
            self.playing = False
            await to_thread.run_sync(session.advance, 1)
            await self._frame()
            await self._inside()
        elif kind == "reset":
            self.playing = False
            await to_thread.run_sync(session.reset)
            await self._ready()
        elif kind == "speed":
            self.speed = parse_speed(message.get("speed"))
        elif kind == "inspect":
            session.selected = parse_index(message.get("index"), len(session.points))
            await self._inside()
        elif kind == "export":
            text = await to_thread.run_sync(sharing.snippet, session)
            await self.send(
                {"type": "export", "command": sharing.command(session.config), "snippet": text}
            )
        else:
            raise RequestError(
                "message: expected type config, play, pause, step, reset, speed, inspect or "
                f"export, got {kind!r}"
            )

    async def _configure(self, page: Any) -> None:
        setup = parse_setup(page)
        self.playing = False
        self.speed = setup.speed
        if self.session is None:
            self.session = await to_thread.run_sync(self.store.create, setup)
        else:
            await to_thread.run_sync(self.session.reset, setup)
        await self._ready()

    async def _ready(self) -> None:
        session = self.session
        await self.send(
            {
                "type": "ready",
                "session": session.id,
                "config": session.setup.page,
                "data": frames.data_points(session),
                "download": f"/api/sessions/{session.id}/model.npz",
                "command": sharing.command(session.config),
            }
        )
        await self._frame()
        await self._inside()

    async def _frame(self) -> None:
        await self.send(await to_thread.run_sync(frames.frame, self.session))

    async def _inside(self) -> None:
        session = self.session
        await self.send(await to_thread.run_sync(inspect_point, session, session.selected))

    async def _train(self) -> None:
        """While playing: train, and send a frame at most FRAMES_PER_SECOND a second."""
        interval = 1.0 / FRAMES_PER_SECOND
        owed, last_inside, inside_cost = 0.0, time.monotonic(), 0.0
        last = time.monotonic()
        while True:
            if self.session is not None and self.store.is_idle(self.session):
                await self.error("this session expired after a long silence; reload the page")
                await self.socket.close(code=4000)
                return
            if not self.playing:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=5.0)
                except asyncio.TimeoutError:
                    pass
                last = time.monotonic()
                owed = 0.0
                continue
            started = time.monotonic()
            # Steps owed at this speed since the last frame, at most two frames' worth: a
            # machine slower than the speed trains slower, but the frames keep coming.
            owed = min(owed + self.speed * (started - last), max(1.0, 2 * self.speed * interval))
            last = started
            steps = int(owed)
            owed -= steps
            session = self.session
            if session.step_seconds:  # no more training than about one frame's time
                steps = min(steps, max(1, int(interval / session.step_seconds)))
            if steps:
                await to_thread.run_sync(session.advance, steps)
            await self._frame()
            if session.finished:
                self.playing = False
                await self._inside()
            elif time.monotonic() - last_inside > max(INSIDE_EVERY, 10 * inside_cost):
                last_inside = time.monotonic()
                await self._inside()
                inside_cost = time.monotonic() - last_inside
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

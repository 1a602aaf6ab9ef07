"""How often the playground's page is updated while it trains (not a test: a measurement).

Starts the playground in this process, opens its WebSocket as the page does, presses
play for each configuration and counts the frames and training steps that arrive:

    python bench/playground_rate.py            # needs the playground extra and websockets

The page draws each frame it receives; the browser tests record the rate the page saw
in tests/artifacts/update-rate.json.
"""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from mytorch.playground import BackgroundServer
from mytorch.playground.session import warm_up

ALL_FEATURES = ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
#: The smallest, the default and the largest network the page offers.
PAGES = {
    "no hidden layer": {"hidden": [], "speed": 100},
    "default (4-4 tanh)": {"hidden": [4, 4], "speed": 100},
    "default, fast": {"hidden": [4, 4], "speed": 1000},
    "largest (6 x 8, batch norm, dropout, 7 features, 1000 points)": {
        "hidden": [8] * 6,
        "batch_norm": True,
        "dropout": 0.1,
        "features": ALL_FEATURES,
        "points": 1000,
        "speed": 100,
    },
}


async def measure(url: str, page: dict, seconds: float = 5.0) -> dict:
    origin = url.rstrip("/")
    async with websockets.connect(url.replace("http", "ws") + "ws", origin=origin) as socket:
        await socket.send(json.dumps({"type": "config", "config": {**page, "epochs": 10_000}}))
        while json.loads(await socket.recv())["type"] != "inside":
            pass
        await socket.send(json.dumps({"type": "play"}))
        started, frames, first, last = time.monotonic(), 0, None, 0
        while time.monotonic() - started < seconds:
            message = json.loads(await socket.recv())
            if message["type"] == "frame":
                frames += 1
                first = message["step"] if first is None else first
                last = message["step"]
        return {"frames_per_second": frames / seconds, "steps_per_second": (last - first) / seconds}


def main() -> None:
    warm_up()
    with BackgroundServer() as server:
        for name, page in PAGES.items():
            result = asyncio.run(measure(server.url, page))
            print(
                f"{name:<64} {result['frames_per_second']:5.1f} frames/s "
                f"{result['steps_per_second']:6.0f} steps/s (asked {page['speed']})"
            )


if __name__ == "__main__":
    main()

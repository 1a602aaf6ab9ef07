"""The playground's server without a browser: checks of every request, a session's steps
equal to the library's, the exports, the HTTP and WebSocket API, and bounded memory."""

from __future__ import annotations

import json
import shlex
import tracemalloc

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra (starlette) is not installed")
pytest.importorskip("httpx2", reason="starlette's TestClient needs httpx2")

from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

import mytorch  # noqa: E402
from mytorch import cli  # noqa: E402
from mytorch.config import LOSSES  # noqa: E402
from mytorch.datasets.features import feature_map  # noqa: E402
from mytorch.playground import frames, sharing  # noqa: E402
from mytorch.playground.app import create_app  # noqa: E402
from mytorch.playground.checks import RequestError, parse_setup  # noqa: E402
from mytorch.playground.inside import inspect_point  # noqa: E402
from mytorch.playground.session import LossCurves, Session  # noqa: E402
from mytorch.playground.store import SessionStore  # noqa: E402
from mytorch.workflows.toy import toy_data, toy_trainer  # noqa: E402

SMALL = {"points": 60, "hidden": [3], "epochs": 2, "batch_size": 8}


# ------------------------------------------------------------------ checks
@pytest.mark.parametrize(
    "page, message",
    [
        ({"hidden": [4] * 7}, "hidden: expected at most 6 layers, got 7"),
        ({"hidden": [9]}, "units: expected a number in [1, 8], got 9"),
        ({"hidden": [True]}, "units: expected a number, got True"),
        ({"points": 5}, "points: expected a number in [20, 1000], got 5"),
        ({"lr": float("nan")}, "lr: expected a number in"),
        ({"lr": "0.1"}, "lr: expected a number, got '0.1'"),
        ({"speed": 10**9}, "speed: expected a number in [1, 2000]"),
        ({"batch_size": 300, "points": 100}, "batch_size: expected at most the 50 training"),
        ({"dataset": "digits"}, "dataset: expected one of"),
        ({"loss": "nll"}, "loss: expected one of"),
        ({"features": []}, "features: expected a non-empty list"),
        ({"features": ["x1", "x1"]}, "features: expected a non-empty list"),
        ({"batch_norm": "yes"}, "batch_norm: expected true or false"),
        ({"path": "/etc/passwd"}, "config: unknown settings ['path']"),
        ([1, 2], "config: expected an object of settings, got list"),
    ],
)
def test_every_value_from_the_page_is_bounded_with_a_clear_error(page, message):
    with pytest.raises(RequestError) as error:
        parse_setup(page)
    assert message in str(error.value)


def test_the_defaults_and_a_full_page_make_a_toy_run():
    setup = parse_setup({})
    assert setup.config.hidden == [4, 4] and setup.speed == 100
    assert (setup.config.n_samples, setup.config.test_samples) == (200, 200)
    setup = parse_setup({"features": ["x1_sq", "x2_sq"], "hidden": [], "loss": "mse"})
    assert setup.config.features == ["x1_sq", "x2_sq"] and setup.config.hidden == []


# ------------------------------------------------------------------ a session is the library
def _fit_like_the_library(config):
    """Train the same run with Trainer.fit, as `mytorch toy` does."""
    (X, y), _ = toy_data(config)
    trainer, loss = toy_trainer(config)
    inputs = feature_map(X, config.features).astype(config.dtype)
    trainer.fit(inputs, loss.targets(y), epochs=config.epochs, batch_size=config.batch_size)
    return trainer.model


@pytest.mark.parametrize(
    "page",
    [
        {},
        {"optimizer": "adam", "lr": 0.01, "schedule": "cosine", "batch_norm": True},
        {"dropout": 0.3, "loss": "mse", "features": ["x1", "x2", "x1_x2"], "schedule": "plateau"},
        {"hidden": [], "loss": "multi_margin", "weight_decay": 0.01, "batch_size": 7},
    ],
)
def test_a_sessions_steps_are_the_trainers_steps(page):
    session = Session(parse_setup({**SMALL, **page}), "s")
    steps_per_epoch = len(session.loader)
    assert session.advance(steps_per_epoch + 1) == steps_per_epoch + 1
    assert session.epoch == 1 and not session.finished
    assert session.advance(10_000) == steps_per_epoch - 1  # stops at the run's epochs
    assert session.finished and session.epoch == 2
    expected = _fit_like_the_library(session.config).state_dict()
    # Trainer.fit may train whole compiled epochs (numba), which agree with the page's
    # step-by-step reference loop to about 1e-15; batch by batch they are bit-identical.
    for key, value in session.trainer.model.state_dict().items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-12, atol=1e-14, err_msg=key)


@pytest.mark.slow  # runs `mytorch toy`, which draws a picture
def test_the_command_trains_the_model_the_page_exports(tmp_path, capsys):
    session = Session(parse_setup({**SMALL, "features": ["x1", "sin_x2"], "noise": 0.2}), "s")
    session.advance(10_000)
    exported = tmp_path / "exported.npz"
    exported.write_bytes(sharing.model_file(session))
    model, header = mytorch.load(exported, return_metadata=True)
    assert header["metadata"]["features"] == ["x1", "sin_x2"]
    words = shlex.split(sharing.command(session.config, out=str(tmp_path / "run")))
    assert words[:2] == ["mytorch", "toy"]
    assert cli.main([*words[1:], "--frames", "1"]) == 0, capsys.readouterr().err
    trained = mytorch.load(tmp_path / "run" / "model.npz").state_dict()
    for key, value in model.state_dict().items():  # to rounding: see the test above
        np.testing.assert_allclose(value, trained[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_the_snippet_builds_the_same_network_and_trains_it(capsys):
    session = Session(parse_setup({**SMALL, "batch_norm": True, "schedule": "step"}), "s")
    namespace: dict = {}
    exec(sharing.snippet(session), namespace)  # noqa: S102 (our own generated code)
    model = namespace["model"]
    assert [type(m).__name__ for m in model] == [type(m).__name__ for m in session.trainer.model]
    assert [m.get_config() for m in model] == [m.get_config() for m in session.trainer.model]
    assert "test accuracy" in capsys.readouterr().out


def test_looking_inside_a_step_checks_every_gradient_of_the_point():
    session = Session(parse_setup({**SMALL, "hidden": [3, 2], "batch_norm": True}), "s")
    session.advance(5)
    before = {k: v.copy() for k, v in session.trainer.model.state_dict().items()}
    record = inspect_point(session, 4)
    assert record["passed"] and record["worst_error"] < 1e-6
    modules = [s["module"] for s in record["steps"]]
    assert modules[0] == "Linear(2->3)" and modules[-1].startswith("CrossEntropyLoss")
    assert all(s["check"] for s in record["steps"])  # every gradient checked
    np.testing.assert_array_equal(record["inputs"], np.round(session.inputs[4], 6))
    for key, value in session.trainer.model.state_dict().items():  # the run is untouched
        np.testing.assert_array_equal(value, before[key])


def test_a_frame_has_a_picture_per_unit_and_the_weights():
    session = Session(parse_setup({**SMALL, "hidden": [3, 2]}), "s")
    frame = frames.frame(session)
    assert [len(layer) for layer in frame["units"]] == [2, 3, 2]
    assert len(frame["weights"]) == 3 and np.shape(frame["weights"][1]["weight"]) == (2, 3)
    assert len(frames._bytes(np.zeros(frames.OUTPUT_GRID**2))) > 0
    json.dumps(frame, allow_nan=False)


def test_a_diverging_run_stops_with_the_reason_in_words():
    page = {**SMALL, "lr": 10.0, "momentum": 0.999, "activation": "identity", "init": "course"}
    session = Session(parse_setup({**page, "epochs": 10_000, "hidden": [8, 8]}), "s")
    session.advance(2_000)
    assert session.finished and "training stopped" in session.error
    json.dumps(frames.frame(session), allow_nan=False)  # still drawable, no NaN in JSON


def test_loss_curves_halve_themselves_when_full():
    curves = LossCurves(capacity=8)
    for step in range(100):
        if curves.wants(step):
            curves.add(step, 1.0 / (step + 1), 2.0)
    assert len(curves.steps) <= 8 and curves.steps[0] == 0 and curves.steps[-1] >= 64


# ------------------------------------------------------------------ the web API
@pytest.fixture
def client():
    app, store = create_app(SessionStore(max_sessions=2))
    with TestClient(app, base_url="http://127.0.0.1:8765") as test_client:
        test_client.store = store
        yield test_client


def _connect(client, **headers):
    """A WebSocket as the page opens it (TestClient's own Host would be refused)."""
    return client.websocket_connect("/ws", headers={"host": "127.0.0.1:8765", **headers})


def _ready(socket, page=None):
    socket.send_json({"type": "config", "config": page or SMALL})
    ready = socket.receive_json()
    assert ready["type"] == "ready", ready
    assert socket.receive_json()["type"] == "frame"
    assert socket.receive_json()["type"] == "inside"
    return ready


def test_the_page_and_its_files_are_served_and_nothing_else(client):
    page = client.get("/")
    assert page.status_code == 200 and "MyTorch playground" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
    assert client.get("/static/app.js").status_code == 200
    for path in ["/static/../app.py", "/static/session.py", "/static/%2e%2e/app.py", "/etc"]:
        assert client.get(path).status_code == 404, path
    options = client.get("/api/options").json()
    assert options["losses"] == list(LOSSES) and "adam" in options["optimizers"]


def test_a_foreign_host_or_origin_is_refused(client):
    assert client.get("/", headers={"host": "evil.example:8765"}).status_code == 403
    assert client.get("/", headers={"origin": "http://evil.example"}).status_code == 403
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    with pytest.raises(WebSocketDisconnect):
        with _connect(client, origin="http://evil.example") as ws:
            ws.receive_json()
    with _connect(client, origin="http://127.0.0.1:8765") as ws:
        _ready(ws)


def test_bad_messages_get_an_error_never_a_traceback(client):
    with _connect(client) as ws:
        ws.send_text("not json")
        assert "expected JSON" in ws.receive_json()["message"]
        ws.send_json({"type": "play"})
        assert "expected 'config' first" in ws.receive_json()["message"]
        ws.send_json({"type": "config", "config": {"hidden": [100]}})
        error = ws.receive_json()
        assert error["type"] == "error" and "units" in error["message"]
        assert "Traceback" not in error["message"]
        _ready(ws)
        ws.send_json({"type": "inspect", "index": 10_000})
        assert "index: expected a number in" in ws.receive_json()["message"]
        ws.send_json({"type": "launch"})
        assert "expected type config, play" in ws.receive_json()["message"]
        ws.send_text("x" * 20_000)
        assert "at most 16384 characters" in ws.receive_json()["message"]


def test_two_tabs_are_independent_and_a_closed_tab_stops_its_session(client):
    with _connect(client) as first, _connect(client) as second:
        one, two = _ready(first), _ready(second, {**SMALL, "dataset": "moons"})
        assert one["session"] != two["session"] and len(client.store) == 2
        first.send_json({"type": "step"})
        frame = first.receive_json()
        assert frame["step"] == 1 and first.receive_json()["type"] == "inside"
        assert client.store.get(two["session"]).trainer.step_count == 0
        with _connect(client) as third:  # over the cap of 2
            third.send_json({"type": "config", "config": SMALL})
            assert "sessions open, its limit" in third.receive_json()["message"]
    assert len(client.store) == 0  # closed tabs: sessions gone


def test_play_trains_and_pause_stops(client):
    with _connect(client) as ws:
        _ready(ws, {**SMALL, "epochs": 10_000, "speed": 500})
        ws.send_json({"type": "play"})
        steps = [m["step"] for m in (ws.receive_json() for _ in range(6)) if m["type"] == "frame"]
        assert steps and steps[-1] > 0 and steps == sorted(steps)
        ws.send_json({"type": "pause"})
        while ws.receive_json()["type"] != "inside":
            pass
        session = next(iter(client.store._sessions.values()))
        paused = session.trainer.step_count
        ws.send_json({"type": "speed", "speed": 1})  # a message answered by nothing
        ws.send_json({"type": "export"})
        export = ws.receive_json()
        assert export["type"] == "export" and "import mytorch" in export["snippet"]
        assert session.trainer.step_count == paused


def test_the_model_download_loads_and_an_unknown_session_is_404(client, tmp_path):
    with _connect(client) as ws:
        ready = _ready(ws, {**SMALL, "features": ["x1", "x2", "x1_sq"]})
        response = client.get(ready["download"])
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        path = tmp_path / "model.npz"
        path.write_bytes(response.content)
        model, header = mytorch.load(path, return_metadata=True)
        assert header["metadata"]["features"] == ["x1", "x2", "x1_sq"]
        assert model[0].in_features == 3
    assert client.get("/api/sessions/nope/model.npz").status_code == 404


def test_an_idle_session_expires():
    store = SessionStore(max_sessions=2, idle_seconds=60)
    session = store.create(parse_setup(SMALL))
    assert store.expire(now=session.last_seen + 30) == [] and len(store) == 1
    assert store.expire(now=session.last_seen + 61) == [session.id] and len(store) == 0


def test_the_playground_command_says_which_extra_it_needs(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert cli.main(["playground", "--no-browser", "--port", "0"]) == 2
    assert "pip install 'mytorch[playground]'" in capsys.readouterr().err


@pytest.mark.slow
def test_memory_stays_bounded_over_many_sessions_and_steps():
    """A soak: 3 sessions, each trained and drawn 80 times after a warm-up; memory must
    not grow with the steps (curves halve themselves, diagnostics keep the last epochs)."""
    store = SessionStore(max_sessions=3)
    page = {"points": 100, "hidden": [6, 6], "epochs": 10_000, "batch_size": 5}
    sessions = [store.create(parse_setup({**page, "seed": k})) for k in range(3)]
    for session in sessions:
        session.curves.capacity = 30  # halved during the measured rounds too

    def run(rounds):
        for _ in range(rounds):
            for session in sessions:
                session.advance(4)
                frames.frame(session)

    run(40)  # warm up: caches, the first halving of the curves
    tracemalloc.start()
    start = tracemalloc.take_snapshot()
    run(80)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(start, "filename"))
    tracemalloc.stop()
    assert grown < 500_000, f"memory grew by {grown} bytes over 3 x 320 steps"
    assert all(len(s.curves.steps) <= s.curves.capacity for s in sessions)
    assert all(len(s.diagnostics.records) <= 20 for s in sessions)

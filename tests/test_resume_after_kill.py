"""A run killed with ``kill -9`` at any moment and resumed ends bit for bit as if it had
never been interrupted, for every named combination of flags.

For each combination a zygote process (Python with MyTorch, NumPy, scikit-learn's digits
and tensorboardX already imported, so that a run starts in milliseconds rather than a
second) forks real ``mytorch train`` processes: each child runs ``mytorch.cli.main``,
the console script's own entry point, on the built-in digits. First one run goes
uninterrupted and is timed. Then the same run is started in a second folder and killed
with SIGKILL, resumed with ``--resume`` (or started again, if it died before its first
checkpoint), killed again, ... ``KILLS`` times, and finally resumed to its end.

Where the kills land is seeded: each is aimed at an epoch drawn at random (0: while the
run starts; always one at the last epoch, while the run ends: saving, scoring, early
stopping putting the best weights back), and falls a random fraction of an epoch after
the checkpoint of that epoch appears: inside an epoch, a checkpoint write or the final
writes. Aiming by progress rather than by the clock keeps the points the same on a busy
machine.

Then both folders must hold the same model arrays, the same metrics (``metrics.json``
and ``metrics.csv`` but for the wall times), test report, diagnostics and TensorBoard
values, and at most one temporary file per kill (removed by a later write once stale).
After every kill the live ``metrics.json`` must read as whole JSON, no further along
than the checkpoint.

matplotlib is blocked in the children (as on a machine without it): drawing would take
most of each short run, so the kills would land there instead of in the training.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mytorch.files import META_KEY
from mytorch.serialization import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
KILLS = 4

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork and SIGKILL"),
]

#: The flag combinations, by name; each adds to ``BASE``.
COMBINATIONS = {
    "early-stopping": ["--optimizer", "adam", "--lr", "0.03", "--early-stopping", "2"],
    "plateau-schedule": ["--optimizer", "sgd", "--lr", "1.5", "--schedule", "plateau"],
    "dropout-batchnorm-adam-cosine": [
        "--dropout",
        "0.2",
        "--batch-norm",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--schedule",
        "cosine",
    ],
    "input-noise-clipping": ["--input-noise", "0.3", "--max-grad-norm", "0.5", "--lr", "0.1"],
    "diagnostics-tensorboard": ["--diagnostics", "--tensorboard", "--dropout", "0.1"],
    # The digits are 8 x 8 images: shifted, flipped and erased from the trainer's
    # generator; the EMA's arrays are in the checkpoint.
    "augmentation-ema-label-smoothing": [
        *("--augment-shift", "1", "--augment-flip", "0.5", "--augment-erase", "0.5"),
        *("--label-smoothing", "0.1", "--ema", "0.95", "--batch-norm", "--dropout", "0.2"),
        *("--optimizer", "adam", "--lr", "0.01", "--schedule", "cosine"),
    ],
    # SWA recomputes the batch-norm statistics with dropout on: its random state too.
    "augmentation-swa": [
        *("--augment-shift", "1", "--swa-start", "5", "--batch-norm", "--dropout", "0.2"),
        *("--optimizer", "adam", "--lr", "0.01"),
    ],
    "all-at-once": [
        "--early-stopping",
        "4",
        "--schedule",
        "plateau",
        "--dropout",
        "0.1",
        "--batch-norm",
        "--optimizer",
        "adamw",
        "--lr",
        "0.02",
        "--input-noise",
        "0.1",
        "--max-grad-norm",
        "1.0",
        "--diagnostics",
        "--tensorboard",
        "--standardize",
        "--dtype",
        "float32",
    ],
}
BASE = [
    "train",
    "--hidden",
    "24",
    "16",
    "--activation",
    "relu",
    "--batch-size",
    "48",
    "--epochs",
    "12",
    "--seed",
    "3",
    "--no-progress",
]

# The zygote: import everything once, then fork one `mytorch train` per line of JSON
# arguments and report the child's pid; on the next line ("reap") wait for the child and
# report how it ended. Until then an ended child stays a zombie: its pid cannot be
# given to another process, so a kill never hits a stranger.
ZYGOTE = textwrap.dedent("""
    import json, os, sys
    sys.modules["matplotlib"] = None  # no pictures: see the module docstring
    import sklearn.datasets, tensorboardX
    from mytorch import cli
    import mytorch.tools.diagnostics, mytorch.tools.tensorboard

    print("ready", flush=True)
    for line in sys.stdin:
        args = json.loads(line)
        pid = os.fork()
        if pid == 0:
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            os._exit(cli.main(args))
        print(f"child {pid}", flush=True)
        sys.stdin.readline()
        _, status = os.waitpid(pid, 0)
        print(f"ended {os.waitstatus_to_exitcode(status)}", flush=True)
""")


class Zygote:
    """The forking process and a way to run (and kill) one ``mytorch train`` in it."""

    def __init__(self) -> None:
        env = dict(
            os.environ,
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def run(
        self,
        args: list[str],
        kill_at: tuple[Path, int, float] | None = None,
        deadline: float = 30.0,
    ) -> int:
        """Run ``mytorch ARGS``; return its exit code (negative: the signal that ended it).

        ``kill_at = (checkpoint, epoch, delay)`` kills it ``delay`` seconds after
        ``checkpoint`` holds ``epoch`` (at once for epoch 0), or after ``deadline``
        seconds if it never does.
        """
        self.process.stdin.write(json.dumps([str(a) for a in args]) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline().split()
        assert reply[0] == "child", reply
        if kill_at is not None:
            checkpoint, epoch, delay = kill_at
            give_up = time.perf_counter() + deadline
            seen = None
            while epoch > 0 and time.perf_counter() < give_up:
                # Read the checkpoint only when a new one has appeared: polling costs
                # little CPU, which the run itself needs.
                stamp = checkpoint.stat().st_mtime_ns if checkpoint.exists() else None
                if stamp != seen:
                    seen = stamp
                    if _saved_epoch(checkpoint) >= epoch:
                        break
                time.sleep(0.001)
            time.sleep(delay)
            os.kill(int(reply[1]), signal.SIGKILL)  # a zombie if it ended: no effect
        self.process.stdin.write("reap\n")
        self.process.stdin.flush()
        ended = self.process.stdout.readline().split()
        assert ended[0] == "ended", ended
        return int(ended[1])

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def zygote():
    process = Zygote()
    yield process
    process.close()


def _saved_epoch(checkpoint: Path) -> int:
    """The epoch of a run's checkpoint; 0 without one (it appears whole, by a rename)."""
    if not checkpoint.exists():
        return 0
    return load_checkpoint(checkpoint)["epoch"]


# ------------------------------------------------------------------ what must be equal
def _without_seconds(history: dict) -> dict:
    return {key: value for key, value in history.items() if key != "seconds"}


def _csv_without_seconds(path: Path) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    for row in rows:
        del row["seconds"]
    return rows


def _model_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files if name != META_KEY}


def _tensorboard_values(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar (but the wall times) and histogram summary TensorBoard would show."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    accumulator = ea.EventAccumulator(
        str(folder), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0}
    ).Reload()
    values = {}
    for tag in accumulator.Tags()["scalars"]:
        if tag != "epoch_seconds":
            values[tag] = [(e.step, e.value) for e in accumulator.Scalars(tag)]
    for tag in accumulator.Tags()["histograms"]:
        values[tag] = [
            (e.step, e.histogram_value.min, e.histogram_value.max, e.histogram_value.sum)
            for e in accumulator.Histograms(tag)
        ]
    return values


def _assert_same_run(full: Path, resumed: Path, tensorboard: bool) -> None:
    full_model, resumed_model = (
        _model_arrays(full / "model.npz"),
        _model_arrays(resumed / "model.npz"),
    )
    assert list(full_model) == list(resumed_model)
    for name in full_model:
        assert full_model[name].dtype == resumed_model[name].dtype, name
        assert full_model[name].tobytes() == resumed_model[name].tobytes(), name
    full_history = json.loads((full / "metrics.json").read_text())
    resumed_history = json.loads((resumed / "metrics.json").read_text())
    assert _without_seconds(full_history) == _without_seconds(resumed_history)
    assert _csv_without_seconds(full / "metrics.csv") == _csv_without_seconds(
        resumed / "metrics.csv"
    )
    full_report = json.loads((full / "report.json").read_text())
    resumed_report = json.loads((resumed / "report.json").read_text())
    del full_report["train_seconds"], resumed_report["train_seconds"]
    assert full_report == resumed_report
    for name in ("diagnostics.json",):
        if (full / name).exists():
            assert (full / name).read_bytes() == (resumed / name).read_bytes(), name
    full_state = load_checkpoint(full / "checkpoint.npz")
    resumed_state = load_checkpoint(resumed / "checkpoint.npz")
    for key in ("epoch", "step", "rng", "scheduler", "stopped"):
        assert full_state[key] == resumed_state[key], key
    if tensorboard:
        full_board = _tensorboard_values(full / "tensorboard")
        resumed_board = _tensorboard_values(resumed / "tensorboard")
        assert full_board == resumed_board
        epochs = full_history["epoch"]
        assert [step for step, _ in full_board["loss/train"]] == epochs  # each epoch once


def _check_live_metrics(run: Path) -> None:
    """Whole JSON, and no epoch the checkpoint does not hold."""
    metrics = run / "metrics.json"
    if not metrics.exists():
        return
    history = json.loads(metrics.read_text())  # never half a file
    saved = load_checkpoint(run / "checkpoint.npz")["epoch"]
    assert len(history["epoch"]) in (saved - 1, saved), (len(history["epoch"]), saved)


# ------------------------------------------------------------------ the test
@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_a_run_killed_at_random_moments_resumes_bit_identical(zygote, tmp_path, name):
    args = [*BASE, *COMBINATIONS[name]]
    full, killed = tmp_path / "full", tmp_path / "killed"
    started = time.perf_counter()
    assert zygote.run([*args, "--out", full]) == 0
    duration = time.perf_counter() - started
    history = json.loads((full / "metrics.json").read_text())

    epochs = len(history["epoch"])
    epoch_seconds = duration / (epochs + 1)
    chooser = random.Random(f"{name}-2024")
    targets = sorted(chooser.sample(range(epochs), KILLS - 1)) + [epochs]
    checkpoint = killed / "checkpoint.npz"
    interrupted = []
    for target in targets:
        before = _saved_epoch(checkpoint)
        command = (
            ["train", "--out", killed, "--resume", "--no-progress"]
            if checkpoint.exists()
            else [*args, "--out", killed]
        )
        delay = chooser.uniform(0.0, epoch_seconds)
        code = zygote.run(command, kill_at=(checkpoint, target, delay))
        assert code in (0, -signal.SIGKILL), code
        if code == -signal.SIGKILL:
            interrupted.append((before, _saved_epoch(checkpoint)))
            _check_live_metrics(killed)
    command = (
        ["train", "--out", killed, "--resume", "--no-progress"]
        if (killed / "checkpoint.npz").exists()
        else [*args, "--out", killed]
    )
    assert zygote.run(command) == 0
    elapsed = time.perf_counter() - started
    print(
        f"\n{name}: {epochs} epochs (stopped early: {history['stopped_epoch']}), run "
        f"{duration:.2f} s; kills aimed at epochs {targets}, {len(interrupted)} landed in a "
        f"running process (checkpoint epoch before, after: {interrupted}); {elapsed:.1f} s"
    )
    assert interrupted, "no kill landed in a running process; the test proved nothing"
    _assert_same_run(full, killed, tensorboard="--tensorboard" in args)
    # At most one temporary file per kill, which a later write removes once stale.
    assert len(list(killed.glob(".*.tmp"))) <= len(interrupted)
    # What each combination is there for did happen.
    if name == "early-stopping":
        assert history["stopped_epoch"] is not None and history["best_epoch"] is not None
    if name == "plateau-schedule":
        assert len(set(history["lr"])) > 1, "the plateau schedule never lowered the rate"

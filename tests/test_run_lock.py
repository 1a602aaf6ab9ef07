"""Tests for ``mytorch/run_lock.py``: one process at a time in a run folder.

A second ``mytorch train`` into a folder in use exits 4 naming the process that holds
it, and leaves every file there as it was; a lock left by a process killed with
``kill -9`` is taken over, and the run says whose it was.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mytorch import cli, run_lock
from mytorch.run_lock import LOCK_NAME, RunFolderBusyError, RunLock

ROOT = Path(__file__).resolve().parent.parent

needs_fcntl = pytest.mark.skipif(run_lock.fcntl is None, reason="no fcntl on this platform")

# A process that takes the lock of the folder argv[1], says so, and waits to be killed.
HOLDER = textwrap.dedent("""
    import sys, time
    from mytorch.run_lock import RunLock
    RunLock(sys.argv[1], command="holder of the test").acquire()
    print("locked", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def holder(tmp_path):
    """Start a process holding the lock of ``tmp_path / 'run'``; yield it (killed after)."""
    folder = tmp_path / "run"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout.readline().strip() == "locked"
        yield folder, process
    finally:
        process.kill()
        process.wait()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _train_args(out: Path, *extra) -> list[str]:
    return [
        "train",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


# ------------------------------------------------------------------ the lock
@needs_fcntl
def test_a_second_lock_of_a_folder_is_refused_naming_the_owner(tmp_path):
    with RunLock(tmp_path, command="mytorch train --out x") as first:
        assert first.taken_over is None
        with pytest.raises(RunFolderBusyError) as refused:
            RunLock(tmp_path).acquire()
        message = str(refused.value)
        assert f"is in use by process {os.getpid()} on host {socket.gethostname()}" in message
        assert "(mytorch train --out x, started " in message
        owner = json.loads((tmp_path / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid()
    # Given back: free for the next, and empty (no owner to report).
    assert (tmp_path / LOCK_NAME).read_text() == ""
    with RunLock(tmp_path) as second:
        assert second.taken_over is None


@needs_fcntl
def test_a_lock_left_by_a_killed_process_is_taken_over(holder):
    folder, process = holder
    with pytest.raises(RunFolderBusyError, match=f"process {process.pid} .*holder of the test"):
        RunLock(folder).acquire()
    process.send_signal(signal.SIGKILL)
    process.wait()
    with RunLock(folder) as lock:
        assert lock.taken_over["pid"] == process.pid
        assert f"took over the lock of process {process.pid}" in lock.describe_taken_over()
        assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()


@needs_fcntl
def test_a_folder_the_lock_created_for_nothing_is_removed_again(tmp_path):
    folder = tmp_path / "new" / "run"
    with RunLock(folder):
        assert (folder / LOCK_NAME).exists()
    assert not folder.exists()
    folder.mkdir(parents=True)
    with RunLock(folder):
        pass
    assert folder.is_dir()  # not created by the lock: kept, with its lock file


def test_without_fcntl_nothing_is_locked_and_the_run_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run_lock, "fcntl", None)
    with RunLock(tmp_path) as first, RunLock(tmp_path) as second:
        assert not first.supported and not second.supported
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *args, **kwargs: [])
    assert cli.main(_train_args(tmp_path / "run", "--epochs", "1")) == 0
    assert "the run folder is not locked (this platform has no fcntl)" in capsys.readouterr().out


# ------------------------------------------------------------------ mytorch train
@needs_fcntl
def test_mytorch_train_in_a_busy_folder_exits_4_and_changes_nothing(tmp_path, capfd, monkeypatch):
    folder = tmp_path / "run"
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *args, **kwargs: [])
    assert cli.main(_train_args(folder)) == 0  # a finished run in the folder
    capfd.readouterr()
    with RunLock(folder, command="another mytorch train"):
        before = _snapshot(folder)
        for extra in ([], ["--resume"], ["--resume", "--epochs", "5"]):
            assert cli.main(_train_args(folder, *extra)) == 4
            err = capfd.readouterr().err
            assert err.startswith(f"mytorch train: error: the run folder {folder} is in use by ")
            assert f"process {os.getpid()} on host {socket.gethostname()}" in err
            assert "(another mytorch train, started " in err
            assert "Traceback" not in err
            assert _snapshot(folder) == before


@pytest.mark.slow
@needs_fcntl
def test_a_real_second_run_is_refused_and_a_killed_run_is_resumed(tmp_path, capfd, monkeypatch):
    """Two real processes: the second is refused while the first trains; once the first
    is killed, --resume takes its lock over and finishes the run."""
    out = tmp_path / "run"
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "mytorch", *_train_args(out, "--epochs", "100000")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.npz").exists():
            assert first.poll() is None and time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        second = subprocess.run(
            [sys.executable, "-m", "mytorch", *_train_args(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert second.returncode == 4, second.stderr
        assert f"is in use by process {first.pid} on host" in second.stderr
        assert (
            f"(mytorch train --hidden 8 --epochs 2 --batch-size 64 --no-progress --out {out}"
            in (second.stderr)
        )
        assert first.poll() is None  # the first run goes on
    finally:
        first.kill()
        first.wait()
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *args, **kwargs: [])
    capfd.readouterr()
    assert cli.main(_train_args(out, "--resume", "--epochs", "3")) == 0
    out_text = capfd.readouterr().out
    assert f"note: took over the lock of process {first.pid} on host" in out_text
    assert (out / "model.npz").exists()
    assert (out / LOCK_NAME).read_text() == ""

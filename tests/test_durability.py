"""Durable files: a killed writer never leaves a broken model behind.

The main test forks writer processes that save two known models A and B, alternately
and as fast as they can, to the same path, and kills each one with SIGKILL at a random
moment (30 kills). After every kill the file must load and predict *exactly* as A or as
B, and the only debris allowed is one temporary file per killed writer, which the next
save removes once it is stale. The other tests check what a file carries (format
version, checksum) and that damaged, truncated, other-version or hand-edited model
files, checkpoints and data-set files are refused with a clear error.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import mytorch
from mytorch import nn
from mytorch.datasets import load_fashion_mnist, read_idx
from mytorch.files import STALE_TEMP_SECONDS
from mytorch.serialization import (
    FORMAT_VERSION,
    ModelFileError,
    load_checkpoint,
    save_checkpoint,
)

ROOT = Path(__file__).resolve().parent.parent
KILLS = 30

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork and SIGKILL")


def make_model(seed: int) -> nn.Sequential:
    """About 300k parameters (2.4 MB): a save takes milliseconds, long enough to hit."""
    return nn.Sequential(
        nn.Linear(512, 384, rng=seed),
        nn.BatchNorm1d(384),
        nn.ReLU(),
        nn.Linear(384, 256, rng=seed + 10),
        nn.Tanh(),
        nn.Linear(256, 10, rng=seed + 20),
    ).eval()


# The child: build A and B, save A once, then on each "fork" line start a writer process
# that saves A, B, A, B... (writer k starts with model k % 2) until it is killed, report
# its pid, and reap it.
ZYGOTE = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[2])
    import mytorch
    from test_durability import make_model

    path = sys.argv[1]
    models = [make_model(0), make_model(1)]
    mytorch.save(models[0], path)
    print("ready", flush=True)
    for writer, line in enumerate(sys.stdin):
        if line.strip() != "fork":
            break
        pid = os.fork()
        if pid == 0:
            turn = writer
            while True:
                mytorch.save(models[turn % 2], path)
                turn += 1
        print(f"writer {pid}", flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
""")


def temp_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def test_sigkill_during_saves_always_leaves_model_a_or_b(tmp_path):
    path = tmp_path / "model.npz"
    probe = np.random.default_rng(0).normal(size=(8, 512))
    expected = [make_model(seed)(probe) for seed in (0, 1)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(path), str(ROOT / "tests")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    chooser = random.Random(2024)
    seen = {0: 0, 1: 0}
    killed_mid_write = 0
    started = time.perf_counter()
    try:
        assert zygote.stdout.readline().strip() == "ready"
        for kill in range(1, KILLS + 1):
            zygote.stdin.write("fork\n")
            zygote.stdin.flush()
            reply = zygote.stdout.readline().split()
            assert reply[0] == "writer", reply
            before = len(temp_files(path))
            time.sleep(chooser.uniform(0.0, 0.060))
            os.kill(int(reply[1]), signal.SIGKILL)
            assert zygote.stdout.readline().strip() == "reaped"

            model = mytorch.load(path)  # must always load...
            output = model(probe)
            matches = [i for i in (0, 1) if np.array_equal(output, expected[i])]
            assert matches, f"after kill {kill} the file is neither model A nor model B"
            seen[matches[0]] += 1
            # ...and each killed writer leaves at most one temporary file behind.
            after = len(temp_files(path))
            assert after - before <= 1, f"kill {kill} left {after - before} temporary files"
            assert after <= kill
            killed_mid_write += after - before
    finally:
        zygote.kill()
        zygote.wait()
    elapsed = time.perf_counter() - started
    print(
        f"\n{KILLS} kills in {elapsed:.1f} s: the file was A {seen[0]} times, B {seen[1]} "
        f"times; {killed_mid_write} kills hit a write in progress"
    )
    assert elapsed < 60
    assert killed_mid_write > 0, "no kill landed inside a save; the test proved nothing"

    # The next save removes the leftovers of dead writers once they are stale, and keeps
    # a young temporary file, which may belong to a writer still at work.
    leftovers = temp_files(path)
    old = time.time() - STALE_TEMP_SECONDS - 60
    for leftover in leftovers:
        os.utime(leftover, (old, old))
    in_progress = path.parent / f".{path.name}.alive123.tmp"
    in_progress.write_bytes(b"partial")
    mytorch.save(make_model(0), path)
    assert temp_files(path) == [in_progress]
    np.testing.assert_array_equal(mytorch.load(path)(probe), expected[0])


def test_an_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    """An exception in the middle of writing (disk full, Ctrl-C) is like a crash."""
    path = tmp_path / "model.npz"
    model = nn.Sequential(nn.Linear(4, 3, rng=0))
    mytorch.save(model, path)
    original = path.read_bytes()

    def fail_halfway(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", fail_halfway)
    with pytest.raises(KeyboardInterrupt):
        mytorch.save(nn.Sequential(nn.Linear(4, 3, rng=1)), path)
    assert path.read_bytes() == original
    assert temp_files(path) == []


# ----------------------------------------------------------------------- what a file carries
def read_header(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(str(archive["__mytorch__"]))


def rewrite(path: Path, header: dict | None = None, **arrays) -> None:
    """Rewrite the archive with a changed header and/or arrays (valid zip, stale checksum)."""
    with np.load(path, allow_pickle=False) as archive:
        content = {name: archive[name] for name in archive.files}
    if header is not None:
        content["__mytorch__"] = np.array(json.dumps(header))
    content.update(arrays)
    with open(path, "wb") as file:
        np.savez(file, **content)


@pytest.fixture
def model_file(tmp_path) -> Path:
    path = tmp_path / "model.npz"
    mytorch.save(nn.Sequential(nn.Linear(5, 4, rng=0), nn.ReLU(), nn.Linear(4, 3, rng=1)), path)
    return path


@pytest.fixture
def checkpoint_file(tmp_path) -> Path:
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, {"epoch": 2, "weights": np.arange(6.0).reshape(2, 3)})
    return path


def test_model_and_checkpoint_files_carry_a_format_version_and_a_checksum(
    model_file, checkpoint_file
):
    for path, kind in [(model_file, "mytorch-model"), (checkpoint_file, "mytorch-checkpoint")]:
        header = read_header(path)
        assert header["format"] == kind
        assert header["format_version"] == FORMAT_VERSION
        assert len(header["checksum"]) == 64 and int(header["checksum"], 16) >= 0


def test_every_truncation_of_a_model_file_is_refused(model_file):
    data = model_file.read_bytes()
    for length in sorted(
        {0, 1, 4, 22, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1}
    ):
        model_file.write_bytes(data[:length])
        with pytest.raises(ModelFileError, match=r"load\(.*model\.npz'\): "):
            mytorch.load(model_file)


def test_a_flipped_byte_in_the_weights_is_refused(model_file):
    with np.load(model_file, allow_pickle=False) as archive:
        weight = archive["0.weight"].copy()
    weight[1, 2] += 1e-12  # a change too small to see, not too small to catch
    rewrite(model_file, **{"0.weight": weight})
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        mytorch.load(model_file)


@pytest.mark.parametrize(
    "version, message",
    [
        (FORMAT_VERSION + 1, r"format version 2 is newer than this MyTorch"),
        ("1", r"not a MyTorch model file"),
        (None, r"not a MyTorch model file"),
    ],
)
def test_a_file_of_another_format_version_is_refused(model_file, version, message):
    header = read_header(model_file)
    header["format_version"] = version
    rewrite(model_file, header)
    with pytest.raises(ModelFileError, match=message):
        mytorch.load(model_file)


def test_a_hand_edited_model_file_is_refused(model_file):
    header = read_header(model_file)
    header["architecture"]["modules"][1] = {"type": "Sigmoid"}  # the arrays still fit
    rewrite(model_file, header)
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        mytorch.load(model_file)


def test_a_forged_header_cannot_make_loading_allocate_gigabytes(model_file):
    """Even with a recomputed checksum, a layer bigger than the file is refused at once."""
    from mytorch.serialization import _checksum

    with np.load(model_file, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "__mytorch__"}
    header = read_header(model_file)
    header["architecture"]["modules"][0].update(in_features=10**6, out_features=10**6)
    header["checksum"] = _checksum(arrays, header)
    rewrite(model_file, header)
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match="declares 1000001000015 parameters"):
        mytorch.load(model_file)
    # Building the declared layers would take minutes or fail; loose against load spikes.
    assert time.perf_counter() - started < 5


def test_damaged_checkpoints_are_refused(checkpoint_file):
    header = read_header(checkpoint_file)
    header["state"]["__dict__"][0][1] = 3  # epoch 2 -> 3, checksum left as it was
    rewrite(checkpoint_file, header)
    with pytest.raises(ModelFileError, match=r"load_checkpoint\(.*checksum mismatch"):
        load_checkpoint(checkpoint_file)
    header["format_version"] = FORMAT_VERSION + 1
    rewrite(checkpoint_file, header)
    with pytest.raises(ModelFileError, match="unsupported format version 2"):
        load_checkpoint(checkpoint_file)
    checkpoint_file.write_bytes(checkpoint_file.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        load_checkpoint(checkpoint_file)


# ----------------------------------------------------------------------- data-set files
def idx(array: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 0x08, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.astype(np.uint8).tobytes()
    )


def test_read_idx_checks_the_sha256_of_the_content(tmp_path):
    import hashlib

    content = idx(np.arange(12).reshape(3, 4))
    path = tmp_path / "data.idx.gz"
    path.write_bytes(gzip.compress(content))
    digest = hashlib.sha256(content).hexdigest()
    np.testing.assert_array_equal(read_idx(path, sha256=digest), np.arange(12).reshape(3, 4))
    damaged = bytearray(content)
    damaged[-1] ^= 1
    path.write_bytes(gzip.compress(bytes(damaged)))
    with pytest.raises(ValueError, match="failed its integrity check"):
        read_idx(path, sha256=digest)


def test_fashion_mnist_files_that_do_not_match_their_hashes_are_refused(tmp_path):
    """Well-formed IDX files with the wrong content: the published hashes catch them."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("t10k", 2)):
        images = rng.integers(0, 256, size=(n, 28, 28))
        (tmp_path / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(images)))
        (tmp_path / f"{split}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(idx(rng.integers(0, 10, size=n)))
        )
    with pytest.raises(ValueError, match=r"failed its integrity check.*delete it and get it"):
        load_fashion_mnist(tmp_path)


def test_loading_reads_nothing_but_arrays(model_file):
    """No pickle: a file whose header is a pickled object is refused, not unpickled."""
    import pickle

    buffer = io.BytesIO()
    with np.load(model_file, allow_pickle=False) as archive:
        content = {name: archive[name] for name in archive.files}
    content["__mytorch__"] = np.array([pickle.dumps(print)], dtype=object)
    np.savez(buffer, **content)
    model_file.write_bytes(buffer.getvalue())
    with pytest.raises(ModelFileError, match="pickle"):
        mytorch.load(model_file)

"""Fuzzing ``mytorch.load`` and ``load_checkpoint``: only ``ModelFileError``, ever.

Inputs: random bytes; byte-level mutations (flip, insert, delete, truncate, overwrite)
of a valid small model file and of a valid checkpoint; and *structural* mutations that
rebuild a well-formed ``.npz`` around a damaged header or damaged arrays -- with the
checksum left stale, or recomputed as a hand-editor (or an attacker) would, so that the
fuzzer reaches the architecture builder and the checkpoint decoder behind the
checksum. Whatever the bytes, loading returns a model / state or raises
``ModelFileError``; it never crashes with another exception, never runs code, never
takes long and never allocates what a forged header claims.

``test_fuzz_case_count`` reports how many cases ran (at least 4,000).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FUZZ, ram_scratch_dir
from hypothesis import given, settings
from hypothesis import strategies as st

import mytorch
from mytorch import nn, optim
from mytorch import serialization as ser
from mytorch.serialization import ModelFileError, load_checkpoint, save_checkpoint

SECONDS_PER_CALL = 2.0
MAX_GROWTH_MB = 200
# conftest's fixture checks that the module's cases together stay under MAX_GROWTH_MB.
pytestmark = pytest.mark.usefixtures("peak_memory_stays_small")

_scratch = ram_scratch_dir("mytorch-fuzz-model-")
SCRATCH = Path(_scratch.name)
COUNT = {"random": 0, "bytes": 0, "structure": 0, "checkpoint": 0, "loaded": 0, "rejected": 0}


def small_model() -> nn.Sequential:
    model = nn.Sequential(
        nn.Linear(3, 4, rng=0),
        nn.BatchNorm1d(4),
        nn.ReLU(),
        nn.Dropout(0.25, rng=1),
        nn.Linear(4, 2, rng=2),
        nn.Softmax(dim=1),
    )
    model(np.linspace(-1, 1, 15).reshape(5, 3))  # non-trivial running statistics
    return model.eval()


MODEL = small_model()
X_PROBE = np.linspace(-2, 2, 12).reshape(4, 3)


def _file_bytes(write) -> bytes:
    path = SCRATCH / "original.npz"
    write(path)
    return path.read_bytes()


MODEL_BYTES = _file_bytes(lambda path: mytorch.save(MODEL, path, metadata={"note": "fuzz"}))


def _checkpoint_state() -> dict[str, Any]:
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.BatchNorm1d(2))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for param in model.parameters():
        param.grad = np.ones_like(param.data)
    opt.step()
    return {
        "epoch": 3,
        "model": dict(model.state_dict()),
        "optimizer": opt.state_dict(),
        "history": {"loss": [1.0, float("nan")]},
        "pair": (1, "two"),
    }


CHECKPOINT_BYTES = _file_bytes(lambda path: save_checkpoint(path, _checkpoint_state()))


# ----------------------------------------------------------------------- reading archives
_UNPACKED: dict[bytes, tuple[dict[str, Any], dict[str, np.ndarray]]] = {}


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header (parsed JSON) and the arrays of a valid file (new dicts, shared arrays)."""
    if data not in _UNPACKED:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        _UNPACKED[data] = json.loads(str(arrays.pop("__mytorch__"))), arrays
    header, arrays = _UNPACKED[data]
    return dict(header), dict(arrays)


def pack(header_text: str, arrays: dict[str, Any], raw_members: dict[str, bytes] = ()) -> bytes:
    """A well-formed npz (valid zip CRCs) holding ``arrays`` and the header text."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in {**arrays, "__mytorch__": np.array(header_text)}.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=True)
            archive.writestr(f"{name}.npy", member.getvalue())
        for name, content in dict(raw_members).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def seal(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Recompute the checksum, as a careful hand-editor of the file would."""
    header = dict(header)
    try:
        header["checksum"] = ser._checksum(arrays, header)
    except Exception:  # arrays the checksum cannot digest stay unsealed
        pass
    return header


# ----------------------------------------------------------------------- mutations
JUNK_VALUES = [
    None,
    True,
    0,
    -1,
    1.5,
    10**9,
    2**63,
    -(10**12),
    "",
    "x" * 50,
    "Linear",
    "ReLU",
    "Sequential",
    "__import__('os')",
    [],
    {},
    [1, 2],
    {"type": "Linear"},
    {"__array__": "a0"},
    {"__array__": ["a0"]},
    {"__dict__": [[[1], 2]]},
    {"__dict__": 5},
    {"__tuple__": 7},
    {"type": "Linear", "in_features": 10**6, "out_features": 10**6, "bias": True},
    {"type": "BatchNorm1d", "num_features": 10**9},
    {"type": "Sequential", "modules": [{"type": "Sequential", "modules": []}]},
]


def json_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys / indices) into a JSON tree."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += json_paths(child, (*prefix, index))
    return paths


def replace_at(tree: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = dict(tree) if isinstance(tree, dict) else list(tree)
    copy[path[0]] = replace_at(copy[path[0]], path[1:], new)
    return copy


def junk_array(rng: np.random.Generator) -> Any:
    choice = rng.integers(9)
    if choice == 0:
        return np.array(["a", "b"])
    if choice == 1:
        return np.array([1 + 2j])
    if choice == 2:
        return np.array([object()], dtype=object)  # pickled in the file: must not load
    if choice == 3:
        return np.full((2, 2), np.nan)
    if choice == 4:
        return np.zeros((0,))
    if choice == 5:
        return np.arange(6, dtype=np.int32).reshape(2, 3)
    if choice == 6:
        return np.zeros((4, 3), dtype=np.float32)
    if choice == 7:
        return np.array(3.0)
    return rng.normal(size=tuple(rng.integers(1, 5, size=rng.integers(1, 3))))


def huge_npy(rng: np.random.Generator) -> bytes:
    """An .npy member whose header claims far more data than it holds."""
    count = int(rng.choice([2**31, 2**40, 10**9, 2**62 // 8]))
    header = {"descr": "<f8", "fortran_order": False, "shape": (count,)}
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)
    return member.getvalue() + rng.bytes(int(rng.integers(0, 64)))


def mutate_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for _ in range(rng.integers(1, 4)):
        kind = rng.integers(5)
        at = int(rng.integers(len(out) + 1))
        if kind == 0 and out:
            out[min(at, len(out) - 1)] ^= int(rng.integers(1, 256))
        elif kind == 1:
            out[at:at] = rng.bytes(int(rng.integers(1, 16)))
        elif kind == 2:
            del out[at : at + int(rng.integers(1, 64))]
        elif kind == 3:
            del out[at:]
        else:
            out[at : at + 8] = rng.bytes(8)
    return bytes(out)


def mutate_structure(data: bytes, rng: np.random.Generator) -> bytes:
    header, arrays = unpack(data)
    raw_members: dict[str, bytes] = {}
    for _ in range(rng.integers(1, 3)):
        kind = rng.integers(7)
        if kind <= 2:  # replace any node of the header's JSON tree
            paths = json_paths(header)
            path = paths[rng.integers(len(paths))]
            new = JUNK_VALUES[rng.integers(len(JUNK_VALUES))]
            replaced = replace_at(header, path, new)
            header = replaced if isinstance(replaced, dict) else {"header": replaced}
        elif kind == 3 and arrays:  # replace, drop or add an array
            name = sorted(arrays)[rng.integers(len(arrays))]
            action = rng.integers(3)
            if action == 0:
                arrays[name] = junk_array(rng)
            elif action == 1:
                del arrays[name]
            else:
                arrays[f"extra{rng.integers(9)}"] = junk_array(rng)
        elif kind == 4 and arrays:  # an array member that claims billions of numbers
            name = sorted(arrays)[rng.integers(len(arrays))]
            del arrays[name]
            raw_members[f"{name}.npy"] = huge_npy(rng)
        elif kind == 5:
            header["format_version"] = [2, 0, -1, "1", 1.0, None][rng.integers(6)]
        else:
            header = header if rng.integers(2) else {}
    if rng.integers(4):  # mostly sealed, so the fuzzer gets past the checksum
        header = seal(header, arrays)
    text = json.dumps(header)
    if rng.integers(8) == 0:  # damage the JSON text itself
        cut = int(rng.integers(len(text) + 1))
        text = text[:cut] + ["", "]", "{", "\\", "\x00", "[" * 100_000][rng.integers(6)]
    return pack(text, arrays, raw_members)


# ----------------------------------------------------------------------- the checks
def attempt(load, data: bytes) -> Any:
    """Write ``data`` and load it: the result, or None after a ModelFileError."""
    path = SCRATCH / "fuzzed.npz"
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        result = load(path)
    except ModelFileError as error:
        COUNT["rejected"] += 1
        assert str(path) in str(error), f"the message does not name the file: {error}"
        result = None
    else:
        COUNT["loaded"] += 1
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS_PER_CALL, f"loading took {elapsed:.1f} s"
    return result


def check_model(model: Any) -> None:
    """A model that loads is a working model that predicts finite numbers: a file whose
    layers do not chain, or whose numbers are not finite, must not load."""
    assert isinstance(model, nn.Module)
    assert not model.training
    if isinstance(model, nn.Sequential) and len(model) and hasattr(model[0], "in_features"):
        x = np.ones((2, model[0].in_features), dtype=model[0].dtype)
        output = model(x)
        assert np.all(np.isfinite(output)), "a loaded model predicts NaN or inf"


def test_the_original_files_load():
    np.testing.assert_array_equal(attempt(mytorch.load, MODEL_BYTES)(X_PROBE), MODEL(X_PROBE))
    assert attempt(load_checkpoint, CHECKPOINT_BYTES)["pair"] == (1, "two")


@FUZZ
@given(
    data=st.binary(max_size=300),
    zip_magic=st.booleans(),
    loader=st.sampled_from([mytorch.load, load_checkpoint]),
)
def test_random_bytes_raise_model_file_error(data, zip_magic, loader):
    COUNT["random"] += 1
    assert attempt(loader, (b"PK\x03\x04" + data) if zip_magic else data) is None


@FUZZ
@given(seed=st.integers(0, 2**64 - 1))
def test_mutated_model_files_load_or_raise_model_file_error(seed):
    rng = np.random.default_rng(seed)
    structural = bool(rng.integers(2))
    COUNT["structure" if structural else "bytes"] += 1
    data = (mutate_structure if structural else mutate_bytes)(MODEL_BYTES, rng)
    model = attempt(mytorch.load, data)
    if model is not None:
        check_model(model)


@settings(FUZZ, max_examples=1000)
@given(seed=st.integers(0, 2**64 - 1))
def test_mutated_checkpoints_load_or_raise_model_file_error(seed):
    COUNT["checkpoint"] += 1
    rng = np.random.default_rng(seed)
    mutate = mutate_structure if rng.integers(2) else mutate_bytes
    state = attempt(load_checkpoint, mutate(CHECKPOINT_BYTES, rng))
    assert state is None or holds_only_plain_data(state)


def holds_only_plain_data(value: Any) -> bool:
    """A checkpoint decodes to dicts, lists, tuples, numbers, strings and numeric arrays."""
    if isinstance(value, dict):
        return all(holds_only_plain_data(k) and holds_only_plain_data(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(holds_only_plain_data(v) for v in value)
    if isinstance(value, np.ndarray):
        return not value.dtype.hasobject
    return value is None or isinstance(value, (bool, int, float, str))


def _forged(header_edit=None, array_edit=None) -> bytes:
    """The model file edited by hand and sealed with a valid checksum."""
    header, arrays = unpack(MODEL_BYTES)
    if header_edit:
        header = header_edit(json.loads(json.dumps(header)))
    if array_edit:
        array_edit(arrays)
    return pack(json.dumps(seal(header, arrays)), arrays)


def _widen_first_linear(header):
    # Linear(3, 4) -> Linear(3, 5): its arrays resized to match, the next layers not
    header["architecture"]["modules"][0]["out_features"] = 5
    return header


def _resize_first_linear(arrays):
    arrays["0.weight"] = np.zeros((5, 3))
    arrays["0.bias"] = np.zeros(5)


def _with(key, value):
    def edit(arrays):
        arrays[key] = np.full_like(arrays[key], value)

    return edit


@pytest.mark.parametrize(
    "data, message",
    [
        (_forged(_widen_first_linear, _resize_first_linear), "the layers do not chain"),
        (_forged(array_edit=_with("0.weight", np.nan)), "'0.weight' holds NaN or inf"),
        (_forged(array_edit=_with("1.running_var", -1.0)), "negative variance"),
        (
            _forged(lambda h: replace_at(h, ("architecture", "modules", 5, "dim"), 2**63)),
            "dim 9223372036854775808 is beyond the axes of any input",
        ),
    ],
    ids=["layers-do-not-chain", "nan-weight", "negative-variance", "impossible-dim"],
)
def test_a_sealed_file_that_could_not_predict_is_refused(data, message):
    """Each passed check_model's old form (it ignored a ValueError from predicting)."""
    path = SCRATCH / "forged.npz"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match=message):
        mytorch.load(path)


def test_a_pickled_object_in_the_file_is_never_unpickled(tmp_path):
    """Loading never executes code: an object array (a pickle) is refused, not loaded."""
    ran = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (ran,))

    for loader, data in [(mytorch.load, MODEL_BYTES), (load_checkpoint, CHECKPOINT_BYTES)]:
        header, arrays = unpack(data)
        arrays[sorted(arrays)[0]] = np.array([Payload()], dtype=object)
        path = tmp_path / "evil.npz"
        path.write_bytes(pack(json.dumps(seal(header, arrays)), arrays))
        with pytest.raises(ModelFileError):
            loader(path)
    assert not ran.exists()


def test_fuzz_case_count():
    """At least 4,000 fuzz cases ran (printed with ``pytest -s``)."""
    total = COUNT["random"] + COUNT["bytes"] + COUNT["structure"] + COUNT["checkpoint"]
    print(f"\nmodel-file fuzz cases: {COUNT}, total {total}")
    if COUNT["random"] == 0:
        pytest.skip("run with the fuzz tests above to count them")
    assert total >= 4000

"""Tests for ``mytorch/serialization.py``: save/load, checkpoints and atomic writes.

Every damaged or foreign file must raise ``ModelFileError`` itself (a ``ValueError``
with a clear message), never an exception from deep inside NumPy or zipfile, and
loading must never unpickle anything.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import mytorch
from mytorch import nn
from mytorch.serialization import (
    ModelFileError,
    atomic_write,
    describe,
    load_checkpoint,
    save_checkpoint,
)

DTYPES = [np.float32, np.float64]

# One entry per layer kind and setting that the architecture must carry; each maps the
# hidden width to the layer (width 5 between Linear(6, 5) and Linear(5, 3)).
LAYERS = {
    "Dropout": lambda dtype: nn.Dropout(0.3, rng=0),
    "NotesDropout": lambda dtype: nn.NotesDropout(0.6, rng=0),
    "BatchNorm1d": lambda dtype: nn.BatchNorm1d(5, dtype=dtype),
    "BatchNorm1d-momentum-None": lambda dtype: nn.BatchNorm1d(5, momentum=None, dtype=dtype),
    "BatchNorm1d-no-affine": lambda dtype: nn.BatchNorm1d(5, affine=False, dtype=dtype),
    "BatchNorm1d-no-running-stats": lambda dtype: nn.BatchNorm1d(
        5, eps=1e-3, momentum=0.3, track_running_stats=False, dtype=dtype
    ),
    "Identity": lambda dtype: nn.Identity(),
    "Step": lambda dtype: nn.Step(),
    "Sigmoid": lambda dtype: nn.Sigmoid(),
    "Tanh": lambda dtype: nn.Tanh(),
    "ReLU": lambda dtype: nn.ReLU(),
    "LeakyReLU": lambda dtype: nn.LeakyReLU(0.23),
    "ELU": lambda dtype: nn.ELU(alpha=0.7),
    "GELU": lambda dtype: nn.GELU(),
    "GELU-tanh": lambda dtype: nn.GELU(approximate="tanh"),
    "Softplus": lambda dtype: nn.Softplus(beta=2.5, threshold=3.0),
    "Softmax": lambda dtype: nn.Softmax(dim=1),
    "Softmax-dim0": lambda dtype: nn.Softmax(dim=0),
    "LogSoftmax": lambda dtype: nn.LogSoftmax(dim=1),
}


def _model(layer: nn.Module, dtype, *, bias: bool = True) -> nn.Sequential:
    """Linear(6, 5) -> layer -> Linear(5, 3), trained a little so buffers are not defaults."""
    model = nn.Sequential(
        nn.Linear(6, 5, bias=bias, dtype=dtype, rng=1),
        layer,
        nn.Linear(5, 3, bias=not bias, dtype=dtype, rng=2),
    )
    rng = np.random.default_rng(0)
    model.train()
    for _ in range(3):  # training-mode passes move BatchNorm's running statistics
        model(rng.normal(size=(8, 6)).astype(dtype))
    model.eval()
    return model


def _inputs(dtype) -> np.ndarray:
    return np.random.default_rng(7).normal(size=(11, 6)).astype(dtype)


def _assert_same_model(loaded: nn.Module, original: nn.Module, dtype) -> None:
    x = _inputs(dtype)
    expected, actual = original(x), loaded(x)
    assert actual.dtype == np.dtype(dtype)
    assert np.array_equal(actual, expected)
    assert describe(loaded) == describe(original)
    assert repr(loaded) == repr(original)
    original_state, loaded_state = original.state_dict(), loaded.state_dict()
    assert list(loaded_state) == list(original_state)
    for key, value in original_state.items():
        assert loaded_state[key].dtype == value.dtype, key
        assert np.array_equal(loaded_state[key], value), key


def _assert_clean_model_file_error(error: pytest.ExceptionInfo) -> None:
    """The raised exception is ModelFileError itself, with no chained NumPy traceback."""
    assert type(error.value) is ModelFileError
    assert isinstance(error.value, ValueError)
    assert error.value.__cause__ is None
    assert error.value.__context__ is None or error.value.__suppress_context__


@pytest.fixture
def saved(tmp_path):
    """A float64 model with every array kind, saved; returns (path, model)."""
    model = nn.Sequential(
        nn.Linear(6, 5, rng=1),
        nn.BatchNorm1d(5),
        nn.LeakyReLU(0.1),
        nn.Dropout(0.2, rng=0),
        nn.Linear(5, 3, rng=2),
    )
    model.train()
    model(_inputs(np.float64))
    model.eval()
    path = tmp_path / "model.npz"
    mytorch.save(model, path, metadata={"classes": ["a", "b", "c"]})
    return path, model


def _rewrite(path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as a plain .npz (a valid zip), bypassing MyTorch's writer."""
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def _read_all(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _edit_header(path, edit) -> None:
    arrays = _read_all(path)
    header = json.loads(str(arrays["__mytorch__"]))
    edit(header)
    arrays["__mytorch__"] = np.array(json.dumps(header))
    _rewrite(path, arrays)


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_save_load_round_trip_predicts_identically(tmp_path, kind, dtype):
    model = _model(LAYERS[kind](dtype), dtype)
    path = tmp_path / f"{kind}.npz"
    mytorch.save(model, path)
    _assert_same_model(mytorch.load(path), model, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_with_and_without_bias_round_trips(tmp_path, dtype, bias):
    model = _model(nn.ReLU(), dtype, bias=bias)
    path = tmp_path / "linear.npz"
    mytorch.save(model, path)
    loaded = mytorch.load(path)
    _assert_same_model(loaded, model, dtype)
    assert (loaded[0].bias is not None) is bias
    assert (loaded[2].bias is not None) is (not bias)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_model_with_every_layer_kind_round_trips(tmp_path, dtype):
    layers = [nn.Linear(6, 5, dtype=dtype, rng=0)]
    for kind in LAYERS:
        if kind != "Softmax-dim0":  # a batch-wise softmax would change the others' scale
            layers.append(LAYERS[kind](dtype))
    layers.append(nn.Linear(5, 3, bias=False, dtype=dtype, rng=1))
    model = nn.Sequential(*layers)
    model.train()
    model(_inputs(dtype))
    model.eval()
    path = tmp_path / "all.npz"
    mytorch.save(model, path)
    _assert_same_model(mytorch.load(path), model, dtype)


def test_a_single_layer_round_trips(tmp_path):
    layer = nn.Linear(6, 2, dtype=np.float32, rng=3)
    mytorch.save(layer, tmp_path / "one.npz")
    loaded = mytorch.load(tmp_path / "one.npz")
    assert type(loaded) is nn.Linear
    assert np.array_equal(loaded(_inputs(np.float32)), layer(_inputs(np.float32)))


def test_load_returns_eval_mode_and_metadata(saved):
    path, _ = saved
    model, header = mytorch.load(path, return_metadata=True)
    assert not model.training
    assert header["metadata"] == {"classes": ["a", "b", "c"]}
    assert header["dtype"] == "float64"
    assert header["format_version"] == 1
    assert header["library_version"] == mytorch.__version__


def test_activation_settings_are_kept(tmp_path):
    model = nn.Sequential(
        nn.LeakyReLU(0.23),
        nn.ELU(0.7),
        nn.GELU(approximate="tanh"),
        nn.Softplus(beta=2.5, threshold=3.0),
        nn.LogSoftmax(dim=1),
    )
    mytorch.save(model, tmp_path / "act.npz")
    loaded = mytorch.load(tmp_path / "act.npz")
    assert loaded[0].negative_slope == 0.23
    assert loaded[1].alpha == 0.7
    assert loaded[2].approximate == "tanh"
    assert (loaded[3].beta, loaded[3].threshold) == (2.5, 3.0)
    assert loaded[4].dim == 1


def test_batchnorm_settings_are_kept(tmp_path):
    model = nn.Sequential(
        nn.BatchNorm1d(
            4, eps=1e-3, momentum=None, affine=False, track_running_stats=True, dtype=np.float32
        )
    )
    mytorch.save(model, tmp_path / "bn.npz")
    loaded = mytorch.load(tmp_path / "bn.npz")[0]
    assert (loaded.eps, loaded.momentum, loaded.affine, loaded.track_running_stats) == (
        1e-3,
        None,
        False,
        True,
    )


def test_saved_files_get_the_usual_permissions(saved):
    path, _ = saved
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask


# ------------------------------------------------------------------ what save refuses
def test_save_rejects_a_non_module(tmp_path):
    with pytest.raises(TypeError, match="save: expected a Module, got dict"):
        mytorch.save({"0.weight": np.zeros(3)}, tmp_path / "x.npz")


def test_save_rejects_metadata_that_is_not_json(tmp_path):
    with pytest.raises(TypeError, match="save: metadata must be JSON-serialisable"):
        mytorch.save(nn.ReLU(), tmp_path / "x.npz", metadata={"bad": object()})
    assert not (tmp_path / "x.npz").exists()


def test_save_rejects_a_module_it_cannot_describe(tmp_path):
    with pytest.raises(TypeError, match="save: cannot describe a CrossEntropyLoss"):
        mytorch.save(nn.Sequential(nn.CrossEntropyLoss()), tmp_path / "x.npz")


# ------------------------------------------------------------------ damaged and foreign files
def test_truncated_files_raise_model_file_error_at_every_length(saved, tmp_path):
    path, _ = saved
    data = path.read_bytes()
    cuts = sorted(
        {
            *range(0, 64),
            *range(0, len(data), max(1, len(data) // 97)),
            *range(len(data) - 64, len(data)),
        }
    )
    for cut in cuts:
        target = tmp_path / f"cut{cut}.npz"
        target.write_bytes(data[:cut])
        with pytest.raises(ModelFileError) as error:
            mytorch.load(target)
        _assert_clean_model_file_error(error)


def test_flipped_byte_in_array_data_is_caught(saved, tmp_path):
    path, model = saved
    data = bytearray(path.read_bytes())
    weight = np.ascontiguousarray(model.state_dict()["0.weight"]).tobytes()
    start = bytes(data).find(weight)
    assert start > 0, "np.savez stores arrays uncompressed, so their bytes are in the file"
    for offset in (0, len(weight) // 2, len(weight) - 1):
        damaged = bytearray(data)
        damaged[start + offset] ^= 0x10
        target = tmp_path / "flipped.npz"
        target.write_bytes(bytes(damaged))
        with pytest.raises(ModelFileError, match="corrupt|checksum") as error:
            mytorch.load(target)
        _assert_clean_model_file_error(error)


def test_changed_array_in_a_valid_zip_fails_the_checksum(saved):
    path, _ = saved
    arrays = _read_all(path)
    arrays["0.weight"] = arrays["0.weight"].copy()
    arrays["0.weight"][0, 0] = np.nextafter(arrays["0.weight"][0, 0], np.inf)
    _rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="checksum mismatch") as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)


def test_newer_format_version_names_both_versions(saved):
    path, _ = saved
    _edit_header(path, lambda header: header.update(format_version=2))
    with pytest.raises(ModelFileError, match=r"format version 2 is newer .*\(up to 1\)") as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)


def test_unknown_layer_type_is_named(saved):
    path, _ = saved
    _edit_header(path, lambda header: header["architecture"]["modules"][2].update(type="Conv2d"))
    with pytest.raises(ModelFileError, match="unknown layer type 'Conv2d'") as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)


def test_code_in_the_architecture_is_never_run(saved):
    path, _ = saved
    _edit_header(
        path,
        lambda header: header["architecture"]["modules"][2].update(
            type="__import__('os').system('false')"
        ),
    )
    with pytest.raises(ModelFileError, match="unknown layer type"):
        mytorch.load(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda h: h["architecture"]["modules"].__setitem__(2, {"type": "Sigmoid"}),
        lambda h: h["architecture"]["modules"][2].update(negative_slope=0.5),
        lambda h: h["architecture"]["modules"][3].update(p=0.9),
        lambda h: h["metadata"].update(classes=["x", "y", "z"]),
    ],
    ids=["activation-swapped", "slope-changed", "dropout-changed", "metadata-changed"],
)
def test_hand_edited_header_that_still_fits_the_arrays_fails_the_checksum(saved, edit):
    path, _ = saved
    _edit_header(path, edit)
    with pytest.raises(ModelFileError, match="checksum mismatch") as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)


def test_settings_a_layer_does_not_take_are_named(saved):
    path, _ = saved
    _edit_header(path, lambda header: header["architecture"]["modules"][2].update(type="Sigmoid"))
    with pytest.raises(
        ModelFileError, match="invalid settings for Sigmoid: .*negative_slope"
    ) as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)
    assert str(error.value).count("load(") == 1


def test_architecture_that_does_not_fit_the_arrays_is_rejected(saved):
    path, _ = saved
    _edit_header(path, lambda header: header["architecture"]["modules"][0].update(out_features=7))
    with pytest.raises(ModelFileError) as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "malformed header"),
        ('{"format": "something-else", "format_version": 1}', "not a MyTorch model file"),
        ('{"format": "mytorch-model", "format_version": "1"}', "not a MyTorch model file"),
    ],
)
def test_malformed_header_is_rejected(saved, text, message):
    path, _ = saved
    arrays = _read_all(path)
    arrays["__mytorch__"] = np.array(text)
    _rewrite(path, arrays)
    with pytest.raises(ModelFileError, match=message) as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)


def test_header_of_the_wrong_kind_is_rejected(saved):
    path, _ = saved
    arrays = _read_all(path)
    arrays["__mytorch__"] = np.arange(3)
    _rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="malformed header"):
        mytorch.load(path)


def test_npz_without_header_is_not_a_model(tmp_path):
    path = tmp_path / "plain.npz"
    _rewrite(path, {"X": np.zeros((2, 3))})
    with pytest.raises(ModelFileError, match="not a MyTorch model file") as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)


def test_a_text_file_is_not_a_model(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("weights: 1 2 3\n")
    with pytest.raises(ModelFileError, match="truncated or corrupt") as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)


def test_a_directory_is_not_a_model(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory") as error:
        mytorch.load(tmp_path)
    _assert_clean_model_file_error(error)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ModelFileError, match=r"missing\.npz.*no such file") as error:
        mytorch.load(tmp_path / "missing.npz")
    _assert_clean_model_file_error(error)


class _Booby:
    """Unpickling this calls ``_tripped``; loading a model must never do that."""

    def __reduce__(self):
        return (_tripped, ())


_TRIPS: list[int] = []


def _tripped():
    _TRIPS.append(1)
    return 0


def test_object_arrays_are_rejected_without_unpickling(saved):
    path, _ = saved
    arrays = _read_all(path)
    arrays["0.weight"] = np.array([_Booby(), _Booby()], dtype=object)
    with open(path, "wb") as file:
        np.savez(file, **arrays)  # np.savez pickles object arrays
    assert b"_tripped" in path.read_bytes()
    _TRIPS.clear()
    with pytest.raises(ModelFileError, match="pickle") as error:
        mytorch.load(path)
    _assert_clean_model_file_error(error)
    with pytest.raises(ModelFileError, match="pickle"):
        load_checkpoint(path)
    assert _TRIPS == []


def test_a_pickle_file_is_rejected_without_unpickling(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(_Booby()))
    _TRIPS.clear()
    with pytest.raises(ModelFileError):
        mytorch.load(path)
    assert _TRIPS == []


def test_a_checkpoint_is_not_a_model_and_a_model_not_a_checkpoint(saved, tmp_path):
    path, _ = saved
    with pytest.raises(ModelFileError, match="not a MyTorch checkpoint"):
        load_checkpoint(path)
    save_checkpoint(tmp_path / "ckpt.npz", {"epoch": 1})
    with pytest.raises(ModelFileError, match="not a MyTorch model file"):
        mytorch.load(tmp_path / "ckpt.npz")


# ------------------------------------------------------------------ atomic writes
def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old contents")

    def half_then_fail(file):
        file.write(b"new con")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]  # no temp file left


def test_atomic_write_keeps_the_old_file_on_keyboard_interrupt(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")

    def interrupted(file):
        file.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert path.read_bytes() == b"old"
    assert len(list(tmp_path.iterdir())) == 1


def test_failed_save_keeps_the_previous_model_loadable(saved, monkeypatch):
    path, model = saved

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 partial zip")
        raise OSError("no space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="no space left"):
        mytorch.save(nn.Sequential(nn.Linear(2, 2, rng=0)), path)
    monkeypatch.undo()
    _assert_same_model(mytorch.load(path), model, np.float64)


def test_atomic_write_creates_the_directory_and_replaces_the_file(tmp_path):
    path = tmp_path / "new" / "dir" / "f.txt"
    atomic_write(path, lambda file: file.write(b"one"))
    atomic_write(path, lambda file: file.write(b"two"))
    assert path.read_bytes() == b"two"
    assert len(list(path.parent.iterdir())) == 1


# ------------------------------------------------------------------ checkpoints
def _assert_same_tree(actual, expected, where="state"):
    """Equal values *and* equal types all the way down (a tuple stays a tuple...)."""
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for (key_a, value_a), (key_e, value_e) in zip(
            actual.items(), expected.items(), strict=True
        ):
            _assert_same_tree(key_a, key_e, f"{where} key {key_e!r}")
            _assert_same_tree(value_a, value_e, f"{where}[{key_e!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_same_tree(a, e, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, where
        assert np.array_equal(actual, expected, equal_nan=expected.dtype.kind == "f"), where
    elif isinstance(expected, float) and np.isnan(expected):
        assert np.isnan(actual), where
    else:
        assert actual == expected, where


def test_checkpoint_round_trips_nested_state(tmp_path):
    state = {
        "epoch": 3,
        "config": {"hidden": [64, 32], "lr": 0.008, "name": "digits", "flag": True, "none": None},
        "optimizer": {
            "state": {
                0: {"momentum_buffer": np.arange(6.0).reshape(2, 3)},
                1: {"step": 5, "exp_avg": np.float32([1.5, -2.0])},
            },
            "param_groups": [{"lr": 0.1, "params": [0, 1], "betas": (0.9, 0.999)}],
        },
        "history": {"val_loss": [1.0, float("nan"), 0.5]},
        "rng": [{"bit_generator": "PCG64", "state": {"state": 2**127 + 12345, "inc": 2**100 + 1}}],
        "tuple": (1, (2.5, None), [np.int64(7)], "text"),
        "empty": {"list": [], "tuple": (), "dict": {}},
        "int_array": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "scalar_array": np.array(2.5),
        "bool_array": np.array([True, False]),
    }
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, state)
    loaded = load_checkpoint(path)
    expected = dict(state)
    # NumPy scalars come back as Python numbers (JSON), arrays stay arrays.
    expected["tuple"] = (1, (2.5, None), [7], "text")
    expected["optimizer"]["state"][1]["exp_avg"] = np.float32([1.5, -2.0])
    _assert_same_tree(loaded, expected)


def test_checkpoint_restores_generator_states(tmp_path):
    generator = np.random.default_rng(42)
    generator.random(10)
    save_checkpoint(tmp_path / "c.npz", {"rng": generator.bit_generator.state})
    expected = generator.random(5)
    restored = np.random.default_rng()
    restored.bit_generator.state = load_checkpoint(tmp_path / "c.npz")["rng"]
    assert np.array_equal(restored.random(5), expected)


def test_checkpoint_rejects_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="save_checkpoint: cannot store a set"):
        save_checkpoint(tmp_path / "c.npz", {"bad": {1, 2}})
    assert not (tmp_path / "c.npz").exists()


def test_damaged_checkpoints_raise_model_file_error(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"weights": np.arange(50.0), "epoch": 2})
    data = path.read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 50)):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError) as error:
            load_checkpoint(path)
        _assert_clean_model_file_error(error)
    path.write_bytes(data)
    arrays = _read_all(path)
    header = json.loads(str(arrays["__mytorch__"]))
    header["state"]["__dict__"][1][1] = 3  # "epoch": 2 -> 3 by hand
    arrays["__mytorch__"] = np.array(json.dumps(header))
    _rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_checkpoint(path)
    with pytest.raises(ModelFileError, match="no such file"):
        load_checkpoint(tmp_path / "missing.npz")


def test_model_file_is_a_plain_zip_of_npy_files(saved):
    path, model = saved
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
    assert names == sorted([f"{key}.npy" for key in model.state_dict()] + ["__mytorch__.npy"])

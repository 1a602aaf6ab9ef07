"""Decision-boundary pictures: valid PNGs, the model left as it was, and `mytorch toy`."""

import numpy as np
import pytest

from mytorch import nn, optim
from mytorch.cli import main
from mytorch.datasets.toy import make_toy
from mytorch.tools.viz import BoundaryFrames, accuracy, decision_boundary, frame_epochs, save_gif
from mytorch.trainer import Trainer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _read_png(path):
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return matplotlib.image.imread(path)


@pytest.fixture
def blobs():
    return make_toy("blobs", 60, noise=0.1, rng=0)


def test_decision_boundary_writes_a_valid_png_and_restores_the_training_mode(tmp_path, blobs):
    X, y = blobs
    model = nn.Sequential(
        nn.Linear(2, 4, rng=0), nn.Dropout(0.5, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1)
    )
    model.train()
    ax = decision_boundary(model, X, y, path=tmp_path / "b.png", resolution=30)
    image = _read_png(tmp_path / "b.png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert model.training is True and all(m.training for m in model.modules())
    assert ax.get_title().startswith("accuracy ")


def test_decision_boundary_draws_on_given_axes_without_saving(tmp_path, blobs):
    import matplotlib.pyplot as plt

    X, y = blobs
    figure, axes = plt.subplots(1, 2)
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    assert decision_boundary(model, X, y, ax=axes[1], title="mine", resolution=20) is axes[1]
    assert axes[1].get_title() == "mine" and axes[1].collections
    assert not axes[0].collections
    plt.close(figure)
    assert list(tmp_path.iterdir()) == []


def test_decision_boundary_handles_one_logit_and_three_classes(tmp_path, rng):
    X = rng.normal(size=(30, 2))
    one_logit = nn.Sequential(nn.Linear(2, 1, rng=0))
    decision_boundary(
        one_logit, X, (X[:, 0] > 0).astype(int), path=tmp_path / "one.png", resolution=20
    )
    three = nn.Sequential(nn.Linear(2, 3, rng=0))
    decision_boundary(three, X, rng.integers(0, 3, 30), path=tmp_path / "three.png", resolution=20)
    _read_png(tmp_path / "one.png")
    _read_png(tmp_path / "three.png")


def test_decision_boundary_works_for_float32_models(tmp_path, blobs):
    X, y = blobs
    model = nn.Sequential(nn.Linear(2, 2, dtype=np.float32, rng=0))
    decision_boundary(model, X, y, path=tmp_path / "f32.png", resolution=20)
    _read_png(tmp_path / "f32.png")


@pytest.mark.parametrize(
    ("X", "y", "resolution", "message"),
    [
        (np.zeros((5, 3)), np.zeros(5, int), 10, r"X of shape \(N, 2\)"),
        (np.zeros((5, 2)), np.zeros(4, int), 10, r"y of shape \(5,\)"),
        (np.zeros((5, 2)), np.zeros(5, int), 1, "resolution"),
    ],
)
def test_decision_boundary_rejects_bad_input(X, y, resolution, message):
    with pytest.raises(ValueError, match=message):
        decision_boundary(nn.Sequential(nn.Linear(2, 2, rng=0)), X, y, resolution=resolution)


def test_accuracy_counts_correct_predictions(rng):
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    model[0].weight.data[:] = [[-1.0, 0.0], [1.0, 0.0]]  # class 1 where x1 > 0
    model[0].bias.data[:] = 0.0
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 5.0], [-3.0, 1.0]])
    assert accuracy(model, X, np.array([1, 0, 1, 1])) == 0.75


def test_frame_epochs_span_zero_to_the_last_epoch_evenly():
    assert frame_epochs(200, 10) == [0, 22, 44, 67, 89, 111, 133, 156, 178, 200]
    assert frame_epochs(3, 10) == [0, 1, 2, 3]
    assert frame_epochs(5, 1) == [5]
    with pytest.raises(ValueError):
        frame_epochs(5, 0)


def test_boundary_frames_saves_numbered_pictures_at_the_chosen_epochs(tmp_path):
    X, y = make_toy("xor", 80, rng=0)
    model = nn.Sequential(nn.Linear(2, 8, rng=0), nn.Tanh(), nn.Linear(8, 2, rng=1))
    frames = BoundaryFrames(X, y, tmp_path, [0, 2, 4], resolution=20)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        callbacks=[frames],
        rng=0,
    )
    trainer.fit(X, y, epochs=4, batch_size=16)
    assert [p.name for p in frames.paths] == [
        "boundary_000.png",
        "boundary_001.png",
        "boundary_002.png",
    ]
    for path in frames.paths:
        _read_png(path)
    gif = save_gif(frames.paths, tmp_path / "boundary.gif", duration_ms=100)
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    from PIL import Image

    with Image.open(gif) as image:
        assert image.n_frames == 3


def test_save_gif_returns_none_without_pillow(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "PIL", None)
    assert save_gif([tmp_path / "missing.png"], tmp_path / "a.gif") is None
    assert not (tmp_path / "a.gif").exists()


@pytest.mark.slow
def test_mytorch_toy_trains_xor_and_saves_the_boundary_series(tmp_path, capsys):
    out = tmp_path / "toy"
    status = main(
        [
            "toy",
            "--dataset",
            "xor",
            "--hidden",
            "8",
            "--activation",
            "tanh",
            "--epochs",
            "60",
            "--frames",
            "4",
            "--n-samples",
            "200",
            "--out",
            str(out),
            "--gif",
        ]
    )
    assert status == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "boundary.gif",
        "boundary_000.png",
        "boundary_001.png",
        "boundary_002.png",
        "boundary_003.png",
        "model.npz",  # the trained model too (with its input features in the metadata)
    ]
    printed = capsys.readouterr().out
    line = next(ln for ln in printed.splitlines() if ln.startswith("after 60 epochs"))
    assert float(line.split("training accuracy ")[1].split("%")[0]) >= 95.0


def test_mytorch_toy_rejects_an_unknown_data_set(capsys):
    with pytest.raises(SystemExit):
        main(["toy", "--dataset", "swirl"])
    assert "invalid choice" in capsys.readouterr().err

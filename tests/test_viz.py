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


def _x1_classifier(dtype=np.float64, logits=2) -> nn.Sequential:
    """A linear model whose decision boundary is the line x1 = 0 (class 1 to the right)."""
    model = nn.Sequential(nn.Linear(2, logits, dtype=dtype, rng=0))
    model[0].weight.data[:] = [[4.0, 0.0]] if logits == 1 else [[-2.0, 0.0], [2.0, 0.0]]
    model[0].bias.data[:] = 0.0
    return model


def _square(n=15):
    """Points on a grid over [-1, 1]^2, class 1 where x1 > 0."""
    side = np.linspace(-1, 1, n)
    X = np.array([(a, b) for a in side for b in side])
    return X, (X[:, 0] > 0).astype(np.int64)


def _assert_blue_left_red_right(image) -> None:
    """The PNG's content: left of the middle the background is blue (P(class 1) near 0),
    right of it red, in the RdBu_r colours decision_boundary draws with."""
    height, width = image.shape[:2]
    band = image[int(0.35 * height) : int(0.65 * height), :, :3]
    left = band[:, int(0.25 * width) : int(0.35 * width)].reshape(-1, 3).mean(axis=0)
    right = band[:, int(0.8 * width) : int(0.9 * width)].reshape(-1, 3).mean(axis=0)
    assert left[2] > left[0] + 0.15, f"left of the boundary is not blue: {left}"
    assert right[0] > right[2] + 0.15, f"right of the boundary is not red: {right}"


def _boundary_line(ax) -> np.ndarray:
    """The vertices of the black 0.5 contour that decision_boundary drew, (K, 2)."""
    lines = [c for c in ax.collections if list(getattr(c, "levels", [])) == [0.5]]
    assert len(lines) == 1, "no decision-boundary line was drawn"
    return np.concatenate([path.vertices for path in lines[0].get_paths()])


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


def test_decision_boundary_draws_the_models_regions_line_and_points(tmp_path):
    X, y = _square()
    ax = decision_boundary(_x1_classifier(), X, y, path=tmp_path / "b.png", resolution=41)
    # the plotted data: the 0.5 line is x1 = 0, the points are X coloured by y
    vertices = _boundary_line(ax)
    np.testing.assert_allclose(vertices[:, 0], 0.0, atol=1e-9)
    assert np.ptp(vertices[:, 1]) > 2.5  # across the whole plot
    (points,) = [c for c in ax.collections if len(c.get_offsets()) == len(X)]
    np.testing.assert_array_equal(points.get_offsets(), X)
    np.testing.assert_array_equal(points.get_array(), y)
    assert ax.get_title() == "accuracy 100.0%"
    # the picture itself
    _assert_blue_left_red_right(_read_png(tmp_path / "b.png"))


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


def test_decision_boundary_handles_one_logit_and_three_classes(tmp_path):
    X, y = _square()
    ax = decision_boundary(_x1_classifier(logits=1), X, y, path=tmp_path / "one.png")
    np.testing.assert_allclose(_boundary_line(ax)[:, 0], 0.0, atol=1e-9)  # sigmoid(s) = 0.5
    _assert_blue_left_red_right(_read_png(tmp_path / "one.png"))
    three = nn.Sequential(nn.Linear(2, 3, rng=0))
    three[0].weight.data[:] = [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]  # classes 0 | 2 | 1
    three[0].bias.data[:] = [-0.5, -0.5, 0.0]
    classes = three(X).argmax(axis=1)
    decision_boundary(three, X, classes, path=tmp_path / "three.png", resolution=60)
    image = _read_png(tmp_path / "three.png")
    height, width = image.shape[:2]
    band = image[int(0.4 * height) : int(0.6 * height), :, :3]
    # three regions side by side (tab10 colours): left, middle and right differ
    patches = [band[:, int(f * width) : int(f * width) + 8].reshape(-1, 3).mean(axis=0)
               for f in (0.22, 0.56, 0.9)]  # fmt: skip
    assert min(np.abs(a - b).max() for i, a in enumerate(patches) for b in patches[i + 1 :]) > 0.1


def test_decision_boundary_works_for_float32_models(tmp_path):
    X, y = _square()
    ax = decision_boundary(
        _x1_classifier(np.float32), X, y, path=tmp_path / "f32.png", resolution=41
    )
    np.testing.assert_allclose(_boundary_line(ax)[:, 0], 0.0, atol=1e-6)
    _assert_blue_left_red_right(_read_png(tmp_path / "f32.png"))


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
    images = [_read_png(path) for path in frames.paths]
    # training moved the boundary: epoch 0's picture is not the last one's
    assert images[0].shape == images[-1].shape
    assert np.abs(images[0][..., :3] - images[-1][..., :3]).mean() > 0.01
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

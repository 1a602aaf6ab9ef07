"""Train the configurations of ``mytorch train --config FILE`` with PyTorch, for comparison.

Reads the same TOML files (``examples/fashion_mnist.toml``,
``examples/handout_mlp_fashion.toml``, ``examples/fashion_mnist_best.toml``), loads the
same data with the same train/validation split and scaling (MyTorch's own loader),
builds the same network (Linear, BatchNorm1d, activation, Dropout; the same
initialisation scheme), optimiser and per-epoch learning-rate schedule, trains in
float32 for the same epochs, and prints the test accuracy and the wall time. Only the
order of the mini-batches, the dropout masks and the augmentation's draws come from
PyTorch's generator instead of MyTorch's.

What ``mytorch train`` adds to a run is mirrored with PyTorch's own tools:

* augmentation (``augment_shift``, ``augment_flip``, ``augment_erase``): what
  torchvision's ``RandomCrop(28, padding=K)``, ``RandomHorizontalFlip(p)`` and
  ``RandomErasing(p, value=0)`` do, written here in torch operations on the batch
  (torchvision is not installable beside torch 2.13 on the project's machines);
* ``label_smoothing``: ``torch.nn.CrossEntropyLoss(label_smoothing=...)``;
* ``ema`` and ``swa_start``: ``torch.optim.swa_utils.AveragedModel`` (EMA: updated
  after every step, buffers averaged; SWA: after each epoch from ``swa_start``,
  ``update_bn`` before each evaluation), whose averaged model is validated each epoch
  and tested at the end, as ``mytorch train`` does.

Usage (from the repository root; needs ``pip install torch``)::

    OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 python examples/torch_fashion_mnist.py \\
        --data-dir /path/to/fashion-mnist examples/fashion_mnist.toml

``--seed`` overrides the configs' seed, ``--json FILE`` writes the results.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace

import numpy as np
import torch

from mytorch.config import TrainConfig
from mytorch.config_file import read_settings
from mytorch.workflows import build
from mytorch.workflows.report import describe

TORCH_ACTIVATIONS = {
    "sigmoid": torch.nn.Sigmoid,
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "leaky_relu": torch.nn.LeakyReLU,
    "elu": torch.nn.ELU,
    "gelu": torch.nn.GELU,
    "softplus": torch.nn.Softplus,
    "identity": torch.nn.Identity,
}


def build_model(config: TrainConfig, n_features: int, n_classes: int) -> torch.nn.Sequential:
    """The MLP of ``mytorch.workflows.build.build_model`` in ``torch.nn``, same init scheme."""
    scheme, _ = build.resolve_init(config)  # what --init auto chooses, as MyTorch does
    sizes = [n_features, *config.hidden, n_classes]
    layers: list[torch.nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            if scheme == "course":  # the handout's N(0, 1) weights, zero biases
                linear.weight.normal_(0.0, 1.0)
            elif scheme == "notes":
                linear.weight.normal_(0.0, 1.0 / np.sqrt(n_in))
            elif scheme == "xavier":
                torch.nn.init.xavier_uniform_(linear.weight)
            elif scheme == "kaiming":
                relu_like = config.activation in ("relu", "leaky_relu", "elu", "gelu")
                torch.nn.init.kaiming_uniform_(
                    linear.weight, nonlinearity="relu" if relu_like else "linear"
                )
            if scheme != "default":
                linear.bias.zero_()
        layers.append(linear)
        if i < len(config.hidden):
            if config.batch_norm:
                layers.append(torch.nn.BatchNorm1d(n_out))
            layers.append(TORCH_ACTIVATIONS[config.activation]())
            if config.dropout > 0:
                layers.append(torch.nn.Dropout(config.dropout))
    return torch.nn.Sequential(*layers)


def build_optimizer(config: TrainConfig, parameters) -> torch.optim.Optimizer:
    """The optimiser of ``mytorch.workflows.build.build_optimizer``, from ``torch.optim``."""
    return build.build_optimizer(config, parameters, library=torch.optim)


def build_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer):
    """The schedule of ``mytorch.workflows.build.build_scheduler`` (per epoch), or None."""
    return build.build_scheduler(config, optimizer, library=torch.optim)


class Augment:
    """The training batches' augmentation of a config, in torch operations.

    Shift, flip and erase, in that order (torchvision's ``RandomCrop(H, padding=K)``,
    ``RandomHorizontalFlip(p)``, ``RandomErasing(p, scale=(0.02, 0.33), ratio=(0.3,
    3.3), value=0)``), each image drawing its own, from ``generator``; the same
    distributions as ``mytorch.augmentation`` (whose erasing clips a rectangle that does
    not fit instead of drawing again).
    """

    def __init__(self, config: TrainConfig, n_features: int, generator: torch.Generator) -> None:
        if config.image_shape:
            self.height, self.width = config.image_shape
        else:
            self.height = self.width = math.isqrt(n_features)
        self.config, self.generator = config, generator

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        n, height, width = len(batch), self.height, self.width
        images = batch.view(n, height, width)
        k, g = self.config.augment_shift, self.generator
        if k:
            shifts = torch.randint(-k, k + 1, (n, 2), generator=g)
            padded = torch.nn.functional.pad(images, (k, k, k, k))
            rows = (torch.arange(height) + k)[None, :] - shifts[:, :1]
            cols = (torch.arange(width) + k)[None, :] - shifts[:, 1:]
            images = padded[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
        if self.config.augment_flip:
            flip = torch.rand(n, generator=g) < self.config.augment_flip
            images = torch.where(flip[:, None, None], images.flip(2), images)
        if self.config.augment_erase:
            erase = torch.rand(n, generator=g) < self.config.augment_erase
            area = (0.02 + 0.31 * torch.rand(n, generator=g)) * height * width
            log_ratio = math.log(0.3) + (math.log(3.3) - math.log(0.3)) * torch.rand(n, generator=g)
            aspect = torch.exp(log_ratio)
            h = torch.sqrt(area * aspect).round().clamp(1, height).long()
            w = torch.sqrt(area / aspect).round().clamp(1, width).long()
            top = (torch.rand(n, generator=g) * (height - h + 1)).floor().long()
            left = (torch.rand(n, generator=g) * (width - w + 1)).floor().long()
            r = torch.arange(height)[None, :, None]
            c = torch.arange(width)[None, None, :]
            inside = (
                (r >= top[:, None, None])
                & (r < (top + h)[:, None, None])
                & (c >= left[:, None, None])
                & (c < (left + w)[:, None, None])
                & erase[:, None, None]
            )
            images = images.masked_fill(inside, 0.0)
        return images.reshape(n, height * width)


def evaluate(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) in eval mode."""
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(X[i : i + 1000]) for i in range(0, len(X), 1000)])
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(dim=1) == y).double().mean().item()
    return loss, accuracy


def run(config: TrainConfig) -> dict[str, float]:
    """Train ``config`` with PyTorch; print every epoch; return test accuracy and times."""
    unsupported = {"input_noise": 0.0, "max_grad_norm": None, "early_stopping": None}
    for name, neutral in unsupported.items():
        if getattr(config, name) != neutral:
            raise ValueError(f"torch_fashion_mnist: {name} is not mirrored here")
    config = replace(config, dtype="float32")
    torch.manual_seed(config.seed)
    data, (X_train, y_train), (X_val, y_val) = build.load_data(config)
    scaling = build.fit_scaling(config, X_train)
    if scaling and (config.augment_shift or config.augment_flip or config.augment_erase):
        raise ValueError("torch_fashion_mnist: augmentation of standardised data is not mirrored")
    tensors = [
        torch.from_numpy(np.ascontiguousarray(build.apply_scaling(X, scaling)))
        for X in (X_train, X_val, data.X_test)
    ]
    X_train_t, X_val_t, X_test_t = tensors
    y_train_t, y_val_t, y_test_t = (torch.from_numpy(y) for y in (y_train, y_val, data.y_test))
    model = build_model(config, X_train_t.shape[1], data.n_classes)
    optimizer = build_optimizer(config, model.parameters())
    scheduler = build_scheduler(config, optimizer)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    generator = torch.Generator().manual_seed(config.seed)
    augmented = config.augment_shift or config.augment_flip or config.augment_erase
    augment = Augment(config, X_train_t.shape[1], generator) if augmented else None
    swa_utils = torch.optim.swa_utils
    averaged = None
    if config.ema is not None:
        averaged = swa_utils.AveragedModel(
            model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(config.ema), use_buffers=True
        )
    elif config.swa_start is not None:
        averaged = swa_utils.AveragedModel(model)
    bn_batches = [
        X_train_t[i : i + config.batch_size] for i in range(0, len(X_train_t), config.batch_size)
    ]

    def measured() -> torch.nn.Module:
        """The model validation and the test measure: the average, once there is one."""
        if averaged is None or int(averaged.n_averaged) == 0:
            return model
        if config.swa_start is not None and config.batch_norm:
            swa_utils.update_bn(bn_batches, averaged)
        return averaged

    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        epoch_started = time.perf_counter()
        model.train()
        order = torch.randperm(len(X_train_t), generator=generator)
        loss_total, correct = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            xb, yb = X_train_t[index], y_train_t[index]
            if augment is not None:
                xb = augment(xb)
            optimizer.zero_grad()
            output = model(xb)
            loss = criterion(output, yb)
            loss.backward()
            optimizer.step()
            if config.ema is not None:
                averaged.update_parameters(model)
            loss_total += loss.item() * len(index)
            correct += (output.argmax(dim=1) == yb).sum().item()
        if config.swa_start is not None and epoch >= config.swa_start:
            averaged.update_parameters(model)
        val_loss, val_accuracy = evaluate(measured(), X_val_t, y_val_t)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
        n = len(order)
        print(
            f"epoch {epoch:3d}/{config.epochs}  train loss {loss_total / n:.4f} "
            f"error {1 - correct / n:.2%}  |  val loss {val_loss:.4f} "
            f"error {1 - val_accuracy:.2%}  ({time.perf_counter() - epoch_started:.1f}s)",
            flush=True,
        )
    train_seconds = time.perf_counter() - started
    test_loss, test_accuracy = evaluate(measured(), X_test_t, y_test_t)
    return {
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "val_accuracy": val_accuracy,
        "train_seconds": train_seconds,
    }


def main() -> None:
    """Train every config given on the command line; print accuracy and time of each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "configs",
        nargs="*",
        metavar="FILE",
        default=["examples/fashion_mnist.toml", "examples/handout_mlp_fashion.toml"],
        help="TOML files of mytorch train (default: both examples)",
    )
    parser.add_argument("--data-dir", help="directory with the Fashion-MNIST IDX files")
    parser.add_argument("--epochs", type=int, help="override the epochs of every config")
    parser.add_argument("--seed", type=int, help="override the seed of every config")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    print(f"PyTorch {torch.__version__}, {threads} thread(s)")
    results = []
    for path in args.configs:
        settings = read_settings(path)
        if args.data_dir:
            settings["data_dir"] = args.data_dir
        if args.epochs:
            settings["epochs"] = args.epochs
        if args.seed is not None:
            settings["seed"] = args.seed
        config = TrainConfig(**settings).validate()
        print(f"\n== {path}: {describe(config)}, {config.epochs} epochs")
        result = run(config)
        results.append((path, {"seed": config.seed, "threads": threads, **result}))
        print(
            f"Test accuracy {result['test_accuracy']:.2%}, test loss "
            f"{result['test_loss']:.4f}, training {result['train_seconds']:.1f}s"
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"torch": torch.__version__, "runs": dict(results)}, file, indent=1)
    print()
    for path, result in results:
        print(
            f"{path}: PyTorch test accuracy {result['test_accuracy']:.2%} in "
            f"{result['train_seconds']:.1f}s of training"
        )


if __name__ == "__main__":
    main()

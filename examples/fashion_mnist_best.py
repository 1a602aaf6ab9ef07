"""How ``examples/fashion_mnist_best.toml`` was chosen, measured and tabled.

Every run here is the ``mytorch train`` command a user would type (a subprocess), on
Fashion-MNIST's 54,000 training and 6,000 validation images; choices are made on the
validation accuracy of the last epoch. Three steps, each writing committed JSON:

``search``
    Train candidates (the ablation of ``examples/fashion_mnist.toml``, one technique at
    a time, then longer candidate recipes) and record each one's validation accuracy,
    curve and time in ``examples/fashion_mnist_search.json``. The test set is not read
    from their runs: the file holds no test figure, so nothing in it was chosen by one.
``final``
    Train ``examples/fashion_mnist_best.toml`` with seeds 0, 1 and 2 and record the
    test accuracy, the validation accuracy and the time of the whole command in
    ``examples/fashion_mnist_best_results.json`` (``--libraries torch`` trains PyTorch's
    twin of the recipe instead, by ``examples/torch_fashion_mnist.py``).
``table``
    Print the README's tables (the recipe, the ablation) from the two files.

Usage (from the repository root)::

    python examples/fashion_mnist_best.py search --data-dir DIR [--only NAME ...]
    python examples/fashion_mnist_best.py final --data-dir DIR [--libraries mytorch torch]
        [--seeds 0 1 2]
    python examples/fashion_mnist_best.py table

Runs go to ``runs/fashion_mnist_search/NAME`` and ``runs/fashion_mnist_best/seed-S``.
The machine's load (``os.getloadavg``) is recorded with every run: on a shared machine
a run's time says as much about the neighbours as about the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEARCH = ROOT / "examples" / "fashion_mnist_search.json"
RESULTS = ROOT / "examples" / "fashion_mnist_best_results.json"
BASELINE = "examples/fashion_mnist.toml"
BEST = "examples/fashion_mnist_best.toml"
SEEDS = (0, 1, 2)

LONG_AUGMENTED = ["--epochs", "60", "--augment-shift", "1", "--augment-flip", "0.5"]
SMOOTHED_AVERAGED = ["--label-smoothing", "0.1", "--ema", "0.999"]

#: The candidates: name -> (config file, flags over it, what it tests). The ablation
#: changes one thing of the documented recipe (15 epochs, seed 0) at a time.
CANDIDATES: dict[str, tuple[str, list[str], str]] = {
    "baseline": (BASELINE, [], "the documented recipe: 512-256, BN, dropout 0.2, 15 epochs"),
    "shift-1": (BASELINE, ["--augment-shift", "1"], "+ random shifts of up to 1 pixel"),
    "shift-2": (BASELINE, ["--augment-shift", "2"], "+ random shifts of up to 2 pixels"),
    "flip": (BASELINE, ["--augment-flip", "0.5"], "+ horizontal flips"),
    "erase": (BASELINE, ["--augment-erase", "0.5"], "+ random erasing, half of the images"),
    "label-smoothing": (BASELINE, ["--label-smoothing", "0.1"], "+ label smoothing 0.1"),
    "ema": (BASELINE, ["--ema", "0.999"], "+ EMA of the weights, decay 0.999"),
    "swa": (BASELINE, ["--swa-start", "11"], "+ SWA of the last 5 epochs"),
    "wider": (BASELINE, ["--hidden", "1024", "512"], "wider: 1024-512"),
    "deeper": (BASELINE, ["--hidden", "512", "512", "256"], "deeper: 512-512-256"),
    "longer": (BASELINE, ["--epochs", "40"], "longer: 40 epochs"),
    # Augmentation slows learning down (above): does it pay at 40 epochs?
    "longer-flip": (BASELINE, ["--epochs", "40", "--augment-flip", "0.5"], "40 epochs, flips"),
    "longer-flip-shift-1": (
        BASELINE,
        ["--epochs", "40", "--augment-flip", "0.5", "--augment-shift", "1"],
        "40 epochs, flips and shifts of 1 pixel",
    ),
    "longer-erase": (
        BASELINE,
        ["--epochs", "40", "--augment-erase", "0.25"],
        "40 epochs, random erasing of a quarter of the images",
    ),
    "longer-ls-ema": (
        BASELINE,
        ["--epochs", "40", "--label-smoothing", "0.1", "--ema", "0.999"],
        "40 epochs, label smoothing 0.1 and EMA 0.999",
    ),
    # Every technique together, trained long enough for the augmentation to pay.
    "all-512-60": (
        BASELINE,
        [*LONG_AUGMENTED, *SMOOTHED_AVERAGED],
        "60 epochs, shifts of 1 pixel and flips, label smoothing 0.1, EMA 0.999",
    ),
    "all-1024-60": (
        BASELINE,
        [*LONG_AUGMENTED, *SMOOTHED_AVERAGED, "--hidden", "1024", "512", "--dropout", "0.3"],
        "as all-512-60, 1024-512 wide, dropout 0.3",
    ),
    # all-1024-60 still underfits its augmented batches (train 91.7%, validation 91.0%):
    # less regularisation, and longer.
    "1024-shift-80": (
        BASELINE,
        [*("--epochs", "80", "--augment-shift", "1", "--hidden", "1024", "512")]
        + SMOOTHED_AVERAGED,
        "1024-512, dropout 0.2, 80 epochs, shifts of 1 pixel (no flips), label smoothing "
        "0.1, EMA 0.999",
    ),
    "1024-dropout-0.1-80": (
        BASELINE,
        [*("--epochs", "80", "--augment-shift", "1", "--augment-flip", "0.5")]
        + [*("--hidden", "1024", "512", "--dropout", "0.1"), *SMOOTHED_AVERAGED],
        "1024-512, dropout 0.1, 80 epochs, shifts of 1 pixel and flips, label smoothing "
        "0.1, EMA 0.999",
    ),
}


def _flag_settings(flags: list[str]) -> dict[str, list[str]]:
    """``['--hidden', '1024', '512', '--ema', '0.9']`` as ``{'hidden': ['1024', '512'], ...}``."""
    settings: dict[str, list[str]] = {}
    name = None
    for word in flags:
        if word.startswith("--"):
            name = word[2:].replace("-", "_")
            settings[name] = []
        else:
            settings[name].append(word)
    return settings


def _train(config: str, flags: list[str], out: Path, data_dir: str) -> dict:
    """Run ``mytorch train``; return its wall time, the load around it, and its files."""
    command = [
        sys.executable,
        "-m",
        "mytorch",
        "train",
        "--config",
        config,
        "--data-dir",
        data_dir,
        "--out",
        str(out),
        "--no-progress",
        *flags,
    ]
    load_before = os.getloadavg()
    started = time.perf_counter()
    log = out.parent / f"{out.name}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as stream:
        subprocess.run(command, cwd=ROOT, stdout=stream, stderr=subprocess.STDOUT, check=True)
    seconds = time.perf_counter() - started
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "command": " ".join(["mytorch", *command[3:]]),
        "command_seconds": round(seconds, 1),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "metrics": metrics,
        "report": json.loads((out / "report.json").read_text()),
    }


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _write(path: Path, data: dict) -> None:
    """Write ``data`` as JSON; atomically, so a stopped run never leaves half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(partial, path)


def search(data_dir: str, only: list[str] | None) -> None:
    """Train the candidates (all, or ``only``); record their validation figures."""
    for name, (config, flags, note) in CANDIDATES.items():
        if only and name not in only:
            continue
        print(f"== {name}: {config} {' '.join(flags)}", flush=True)
        run = _train(config, flags, ROOT / "runs" / "fashion_mnist_search" / name, data_dir)
        errors = run["metrics"]["val_error"]
        records = _load(SEARCH)  # again: another search may have written meanwhile
        records[name] = {
            "config": config,
            "flags": flags,
            "settings": _flag_settings(flags),
            "note": note,
            "epochs": len(errors),
            "val_accuracy": round(1 - errors[-1], 4),
            "val_accuracy_per_epoch": [round(1 - e, 4) for e in errors],
            "train_accuracy_last_epoch": round(1 - run["metrics"]["train_error"][-1], 4),
            **_cost(run),
        }
        print(f"   validation accuracy {records[name]['val_accuracy']:.2%}", flush=True)
        _write(SEARCH, records)  # after every run: a stopped search keeps what it did


def _cost(run: dict) -> dict:
    """What a ``mytorch train`` run took: its times, the load around it, the BLAS threads."""
    return {
        "train_seconds": run["report"]["train_seconds"],
        "command_seconds": run["command_seconds"],
        "load_before": run["load_before"],
        "load_after": run["load_after"],
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "all cores"),
    }


def _record(library: str, seed: int, record: dict) -> None:
    """Add one run to the results file (read again first: runs may train side by side)."""
    results = _load(RESULTS)
    results.setdefault(library, {})[str(seed)] = record
    _write(RESULTS, results)


def final(data_dir: str, libraries: list[str], seeds: list[int]) -> None:
    """Train the recipe with each seed, in MyTorch and/or PyTorch (``libraries``)."""
    for seed in seeds if "mytorch" in libraries else ():
        out = ROOT / "runs" / "fashion_mnist_best" / f"seed-{seed}"
        print(f"== mytorch, seed {seed}", flush=True)
        run = _train(BEST, ["--seed", str(seed)], out, data_dir)
        _record(
            "mytorch",
            seed,
            {
                "command": run["command"],
                "test_accuracy": run["report"]["test_accuracy"],
                "val_accuracy": 1 - run["metrics"]["val_error"][-1],
                **_cost(run),
            },
        )
        print(f"   test accuracy {run['report']['test_accuracy']:.2%}", flush=True)
    if "torch" in libraries:
        for seed in seeds:
            print(f"== PyTorch, seed {seed}", flush=True)
            out = ROOT / "runs" / "fashion_mnist_best" / f"torch-seed-{seed}.json"
            load_before = os.getloadavg()
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "examples/torch_fashion_mnist.py",
                    BEST,
                    "--data-dir",
                    data_dir,
                    "--seed",
                    str(seed),
                    "--json",
                    str(out),
                ],
                cwd=ROOT,
                check=True,
            )
            (run,) = json.loads(out.read_text())["runs"].values()
            _record(
                "torch",
                seed,
                {
                    **run,
                    "command_seconds": round(time.perf_counter() - started, 1),
                    "load_before": [round(v, 2) for v in load_before],
                    "load_after": [round(v, 2) for v in os.getloadavg()],
                    "threads": os.environ.get("OMP_NUM_THREADS", "all cores"),
                },
            )


def _mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.2%} (one seed)"
    return f"{statistics.mean(values):.2%} ± {statistics.stdev(values):.2%}"


def table() -> None:
    """Print the README's tables from the committed JSON."""
    results = _load(RESULTS)
    for library in ("mytorch", "torch"):
        runs = dict(sorted(results.get(library, {}).items()))
        if not runs:
            continue
        tests = [run["test_accuracy"] for run in runs.values()]
        each = ", ".join(f"{seed}: {run['test_accuracy']:.2%}" for seed, run in runs.items())
        print(f"{library}: test {_mean_std(tests)} (seeds {each})")
        for seed, run in runs.items():
            threads = run.get("blas_threads", run.get("threads"))
            print(
                f"  seed {seed}: training {run['train_seconds']:.0f} s, whole command "
                f"{run['command_seconds']:.0f} s, {threads} thread(s), load average "
                f"{run['load_before'][0]:.1f} before"
            )
    search = _load(SEARCH)
    # The candidates' times are left out: several trained side by side on the 2 cores.
    print("\n| Candidate | What changes | Epochs | Validation accuracy |")
    print("|---|---|---|---|")
    for name, record in search.items():
        accuracy = record["val_accuracy"]
        print(f"| `{name}` | {record['note']} | {record['epochs']} | {accuracy:.2%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["search", "final", "table"])
    parser.add_argument("--data-dir", help="directory with the Fashion-MNIST IDX files")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these candidates only")
    parser.add_argument(
        "--libraries",
        nargs="+",
        choices=["mytorch", "torch"],
        default=["mytorch"],
        help="final: which libraries train the recipe [mytorch]",
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=list(SEEDS), help="final: the seeds [0 1 2]"
    )
    args = parser.parse_args()
    if args.step != "table" and not args.data_dir:
        parser.error(f"{args.step} needs --data-dir")
    if args.step == "search":
        search(args.data_dir, args.only)
    elif args.step == "final":
        final(args.data_dir, args.libraries, args.seeds)
    else:
        table()


if __name__ == "__main__":
    main()

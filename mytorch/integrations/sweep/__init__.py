"""Hyper-parameter sweeps of ``mytorch train`` runs, one Dask task per run.

A sweep is a TOML file (or the same data as a dict)::

    [train]                  # base settings: any `mytorch train` setting
    dataset = "digits"
    epochs = 10
    standardize = true

    [grid]                   # every combination of these lists ...
    lr = [0.01, 0.03, 0.1]
    hidden = [[32], [64, 32]]

    # ... or, instead of [grid], a random search:
    # [random]
    # n_trials = 20
    # seed = 0
    # lr = {low = 1e-4, high = 0.3, log = true}       # (log-)uniform float
    # batch_size = {low = 16, high = 256, log = true, integer = true}
    # hidden = [[32], [64, 32], [128, 64]]            # a list: one of its items
    # dropout = {low = 0.0, high = 0.5}

    [sweep]                  # optional defaults of the command-line flags
    n_workers = 2
    out = "sweeps/digits"

Each run calls :func:`mytorch.workflows.train.train` in its own directory ``OUT/runs/NAME``, where
NAME is made from the run's settings (the swept values and a hash of all of them), so
it is the same every time. The sweep writes to ``OUT``::

    results.csv / results.json   one row per run: settings, test accuracy, best
                                 validation loss, status, error message, seconds
    best_runs.png                validation-loss curves of the best runs
    best_model.npz               a copy of the model with the lowest validation loss

A failed run (an invalid setting, a diverging loss, even a crashed worker) is
recorded with its error and the others go on. With ``resume=True`` (the default) a
run whose directory already holds a ``report.json`` is not run again.

Runs go to a new ``distributed.LocalCluster`` (``n_workers`` processes of one thread
each) or to an existing cluster given by its scheduler's address. BLAS gets
``cores // workers`` threads per worker, so that workers do not oversubscribe the CPU.

Needs ``dask[distributed]`` (``pip install mytorch[sweep]``; ``threadpoolctl`` is used
when installed). ``import mytorch`` does not import this package.

The modules: ``plan`` (the file and its runs), ``task`` (one run), ``cluster`` (Dask and
BLAS threads), ``results`` (the tables and the picture) and ``runner``
(:func:`run_sweep`). ``mytorch sweep FILE`` (``mytorch/cli.py``) calls :func:`run_sweep`.
"""

from mytorch.integrations.sweep.plan import SweepSpec, expand_runs, load_sweep, run_name
from mytorch.integrations.sweep.runner import SweepResult, run_sweep
from mytorch.integrations.sweep.task import run_one

__all__ = [
    "SweepResult",
    "SweepSpec",
    "expand_runs",
    "load_sweep",
    "run_name",
    "run_one",
    "run_sweep",
]

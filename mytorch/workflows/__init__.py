"""What the ``mytorch`` commands do, as functions: build, train, evaluate, predict, toy.

Each module is one step, and the command line (``mytorch/cli.py``) only parses
arguments and calls them:

* :mod:`~mytorch.workflows.build`: the model, optimiser, schedule and data of a
  :class:`~mytorch.config.TrainConfig`, and the feature scaling;
* :mod:`~mytorch.workflows.train`: ``mytorch train`` (with its checkpoint and
  epoch-printer callbacks);
* :mod:`~mytorch.workflows.evaluate`: ``mytorch evaluate`` and ``mytorch predict``, and
  the test report of a model;
* :mod:`~mytorch.workflows.toy`: ``mytorch toy`` (and the run the playground steps);
* :mod:`~mytorch.workflows.targets`: a loss of ``mytorch.nn`` on two logits, and the
  targets it takes;
* :mod:`~mytorch.workflows.report`: printing the report and writing the run directory's
  JSON, CSV and pictures.

Import the functions from their modules (``from mytorch.workflows.train import
train``): the package itself imports nothing. The workflows import the configuration
(:mod:`mytorch.config`) and the core; matplotlib, tqdm and the data sets' optional
packages only when a step needs them.
"""

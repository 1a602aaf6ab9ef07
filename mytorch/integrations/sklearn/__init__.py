"""scikit-learn estimators built on MyTorch: ``MLPClassifier`` and ``MLPRegressor``.

They are plain scikit-learn estimators (``fit`` / ``partial_fit`` / ``predict`` /
``score``, parameters set in ``__init__`` only, validated in ``fit``), so they work in a
``Pipeline``, ``GridSearchCV`` or ``cross_val_score`` and pass
``sklearn.utils.estimator_checks.check_estimator``. Underneath is MyTorch's one core:
the model comes from :func:`mytorch.workflows.build.build_model`, the optimiser and
schedule from :func:`~mytorch.workflows.build.build_optimizer` /
:func:`~mytorch.workflows.build.build_scheduler`, the epochs run in
:class:`mytorch.trainer.Trainer` (``partial_fit`` is ``Trainer.fit(epochs=1)``), and the
parameters are checked by the constraints of the ``mytorch train`` settings they set
(``_params.py``), so both refuse the same values.

The modules: ``_params`` (the parameters' constraints), ``_base`` (training and
prediction), ``_classifier`` and ``_regressor``.

Needs scikit-learn (``pip install mytorch[sklearn]``); ``import mytorch`` does not
import this package.

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from mytorch.integrations.sklearn import MLPClassifier
>>> X, y = load_digits(return_X_y=True)
>>> mlp = MLPClassifier((32,), learning_rate_init=0.01, max_iter=20, random_state=0)
>>> clf = make_pipeline(StandardScaler(), mlp)
>>> clf.fit(X, y).score(X, y) > 0.95
True
"""

from mytorch.integrations.sklearn._classifier import MLPClassifier
from mytorch.integrations.sklearn._regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]

# Their public home, not the private module that defines them: what pickles record and
# error messages show, so neither changes when the files inside are rearranged.
MLPClassifier.__module__ = MLPRegressor.__module__ = __name__

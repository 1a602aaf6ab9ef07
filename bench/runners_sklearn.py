"""scikit-learn's runner: ``MLPClassifier``, the other library a user might reach for."""

from __future__ import annotations

import numpy as np
from configs import N_CLASSES, SKLEARN, Config


class SklearnRunner:
    """scikit-learn's MLPClassifier, one ``partial_fit`` (one pass, in order) per repeat.

    It has no batch normalisation: for wide-f32 it trains the same layers without it.
    Its weights start from its own initialisation, so it has no ``state()`` to compare.
    """

    name = SKLEARN

    def __init__(self, cfg: Config, seed: int = 0) -> None:
        from sklearn.neural_network import MLPClassifier

        common = dict(
            hidden_layer_sizes=cfg.sizes[1:-1],
            activation="logistic" if cfg.activation == "sigmoid" else "relu",
            alpha=0.0,
            batch_size=cfg.batch,
            learning_rate_init=cfg.lr,
            max_iter=1,
            shuffle=False,
            random_state=seed,
            tol=0.0,
            n_iter_no_change=10**9,
        )
        if cfg.optimizer == "sgd":
            self.model = MLPClassifier(
                solver="sgd",
                learning_rate="constant",
                momentum=cfg.momentum,
                nesterovs_momentum=False,
                **common,
            )
        else:
            self.model = MLPClassifier(solver="adam", **common)
        self.classes = np.arange(N_CLASSES)
        self.loss = float("nan")

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        self.model.partial_fit(X, y, classes=self.classes)
        self.loss = float(self.model.loss_)

    def eval_mode(self) -> None:
        pass

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(X)

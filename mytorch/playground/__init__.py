"""The learner's playground: a local web page where MyTorch trains a network you watch.

``mytorch playground`` starts it (needs ``pip install 'mytorch[playground]'``). In the
page a learner sets up a 2-D problem, the network's input features, layers, activation,
batch norm, dropout, loss and optimiser; presses play, pause or one step; and watches
the decision boundary, a heat-map of every unit, the weights, the training and test
loss, back-propagation of one point with every gradient checked against finite
differences, and the diagnostics' advice. The configuration lives in the page's
address; the trained model, the equivalent ``mytorch toy`` command and a Python snippet
can be taken away.

The network trains in the server process, with MyTorch's own modules: a session is the
run ``mytorch toy`` trains (``mytorch.workflows.toy``), stepped one mini-batch at a time.

Modules: ``checks`` (every value from the page, bounded), ``session`` (one run),
``store`` (the sessions, capped and expiring), ``frames`` (what the page draws),
``inside`` (one point's back-propagation), ``sharing`` (model file, command, snippet),
``live`` (a tab's WebSocket), ``app`` (routes and the Host/Origin guard), ``server``
(uvicorn). Only ``app``, ``live`` and ``server`` need the extra's packages.
"""

from mytorch.playground.server import BackgroundServer, serve

__all__ = ["BackgroundServer", "serve"]

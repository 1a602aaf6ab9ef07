"""The learner's tools: look inside a network while it learns.

``gradcheck`` (a backward against finite differences), ``explain`` (one pass, module by
module), ``diagnostics`` (per-layer numbers and advice during training), ``viz``
(decision boundaries of 2-D problems) and ``plots`` (learning curves, confusion matrix).
The old paths ``mytorch.explain``, ``mytorch.diagnostics``, ``mytorch.viz`` and
``mytorch.plots`` still work (lazy aliases, ``mytorch/_aliases.py``).
"""

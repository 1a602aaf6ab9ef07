"""MyTorch inside other tools: scikit-learn estimators, ONNX export, Dask sweeps.

Each module needs its optional extra (``mytorch[sklearn]``, ``[onnx]``, ``[sweep]``);
``import mytorch`` imports none of them. The old paths ``mytorch.sklearn``,
``mytorch.onnx`` and ``mytorch.sweep`` still work (lazy aliases, ``mytorch/_aliases.py``).
"""

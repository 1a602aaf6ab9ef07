"""The speed tier of the optimisers: threaded and compiled forms of their update kernels.

``threaded.for_each_chunk`` runs a NumPy kernel block by block on a thread pool;
``compiled`` holds the same kernels compiled with numba (the optional ``fast`` extra).
Both give bit-for-bit the plain NumPy kernel's result. ``Optimizer`` picks one for each
update (``mytorch/optim/optimizer.py``); an optimiser only names its kernels.
"""

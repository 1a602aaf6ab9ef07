"""How many BLAS threads a compiled step's matrix products use: as set, a number, or timed.

A multi-threaded BLAS splits each matrix product between cores. For the products of a
wide layer that pays; for a small network it can cost more than it saves (each pass
after a product reads an output that another core wrote into its own cache, and the
BLAS's idle threads spin between products), and on a loaded machine a thread that waits
for a busy core holds up every product. Which side a model falls on depends on the
machine and its load, so ``"fastest"`` measures
it, as cuDNN's benchmark mode does for convolutions: the first calls of each kind
alternate, in pairs, between the threads the BLAS is set to and one thread (the second
call of each pair timed), and the faster is kept for a minute (then timed again: the
machine's other load changes which is faster).

A product's last bits can depend on how many threads shared it out (OpenBLAS sums a
long inner dimension in other pieces when it splits it), so a timed choice can differ
between two runs of the same seed by rounding; that is why it is not the default
(``"as set"``: the BLAS runs as the user set it, and a seeded run repeats bit for bit).
One exception, :meth:`BlasThreads.run_second_pool`: numba's products go to SciPy's
OpenBLAS, a second pool of threads beside NumPy's, and two pools of spinning threads
slow each other down, so "as set" runs those on one thread when both pools have more.
Every setting puts the BLAS back as it was when each call returns. Setting threads needs
threadpoolctl (in the ``fast`` extra); without it every call runs as set.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["AS_SET", "FASTEST", "SMALL_PRODUCT", "BlasThreads", "check_setting"]

#: Products smaller than this (rows x inner x columns) run on one thread in OpenBLAS
#: (its threshold is 4 x 65536): a batch whose largest product is below it has nothing
#: to choose, and its calls are left alone.
SMALL_PRODUCT = 1 << 18
AS_SET = "as set"
FASTEST = "fastest"


def check_setting(setting: Any, where: str) -> str | int:
    """``setting`` if it is "as set", "fastest" or a positive int; else a ValueError."""
    if setting in (AS_SET, FASTEST):
        return str(setting)
    if isinstance(setting, int) and not isinstance(setting, bool) and setting >= 1:
        return setting
    raise ValueError(
        f"{where}: expected blas_threads 'as set', 'fastest' or a positive int, got {setting!r}"
    )


class BlasThreads:
    """Run each call of a compiled step with the BLAS threads its setting asks for.

    Parameters
    ----------
    widest_layer : int
        Inputs x outputs of the step's largest Linear: its product on ``rows`` rows is
        ``rows * widest_layer`` multiply-adds.
    setting : {"as set", "fastest"} or int
        "as set": leave the BLAS alone; an int n: at most n threads; "fastest": time
        the first calls of each kind with the BLAS's threads and with one, keep the faster.
    trials : int
        For "fastest": timed calls with each setting (after one untimed warm-up call; each
        timed call follows an untimed one with the same setting).
    margin : float
        For "fastest": one thread is kept only if its median time is below ``1 - margin``
        times that of the BLAS's own setting (switching costs a few microseconds a call).
    lifetime : float
        For "fastest": seconds a choice is kept before the calls are timed again.

    Attributes
    ----------
    chosen : dict
        For "fastest": ``(kind, rows)`` -> 1 or "as set", for the calls decided so far.
    """

    def __init__(
        self,
        widest_layer: int,
        setting: str | int = AS_SET,
        trials: int = 3,
        margin: float = 0.1,
        lifetime: float = 60.0,
    ) -> None:
        self.widest_layer = widest_layer
        self.setting = check_setting(setting, "BlasThreads")
        self.trials = trials
        self.margin = margin
        self.lifetime = lifetime
        self.chosen: dict[tuple[str, int], str | int] = {}
        self._chosen_at: dict[tuple[str, int], float] = {}
        self._settled: dict[tuple[str, int], bool] = {}  # the next trial call is timed
        self._times: dict[tuple[str, int], dict[str | int, list[float]]] = {}
        self._libraries: list[Any] | None = None

    def deciding(self, kind: str, rows: int) -> bool:
        """Whether calls of ``kind`` on ``rows`` rows are still being timed."""
        return (
            self.setting == FASTEST
            and (kind, rows) not in self.chosen
            and rows * self.widest_layer >= SMALL_PRODUCT
        )

    def run(self, kind: str, rows: int, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)``, a call of ``kind`` (e.g. "step") on batches of ``rows``
        rows, with the threads its setting gives (timing it while deciding)."""
        if self.setting == AS_SET or rows * self.widest_layer < SMALL_PRODUCT:
            return function(*args)
        if self.setting != FASTEST:
            return self._limited(int(self.setting), function, args)
        key = (kind, rows)
        choice = self.chosen.get(key)
        if choice is not None and time.perf_counter() - self._chosen_at[key] > self.lifetime:
            del self.chosen[key]  # time both again, without a warm-up call
            self._times[key] = {AS_SET: [], 1: []}
            choice = None
        if choice == AS_SET:
            return function(*args)
        if choice is not None:
            return self._limited(1, function, args)
        return self._trial(key, function, args)

    def run_second_pool(
        self, kind: str, rows: int, function: Callable[..., Any], *args: Any
    ) -> Any:
        """As :meth:`run`, for a call whose products go to a second BLAS library.

        numba's ``np.dot`` calls SciPy's OpenBLAS, whose pool of threads sits beside
        NumPy's; two pools of idle threads spinning on the same cores slow every product
        down (``numba_blas``'s docstring has the measurements). So with "as set", when
        both libraries have more than one thread, such a call runs on one (which also
        makes it repeat bit for bit on any machine); a number or "fastest" is followed
        as for any call.
        """
        if (
            self.setting == AS_SET
            and rows * self.widest_layer >= SMALL_PRODUCT
            and len(self._libraries_above(1)) > 1
        ):
            return self._limited(1, function, args)
        return self.run(kind, rows, function, *args)

    def _trial(self, key: tuple[str, int], function: Callable[..., Any], args: tuple) -> Any:
        times = self._times.get(key)
        if times is None:  # the warm-up call: first-call costs (numba's compiling) untimed
            self._times[key] = {AS_SET: [], 1: []}
            return function(*args)
        if not self._libraries_above(1):
            self._choose(key, AS_SET)  # one thread already: nothing to choose
            return function(*args)
        # Blocks of two calls per setting, the second one timed: the first call after a
        # switch pays for it (the BLAS's idle threads waking up), which would otherwise
        # count against the multi-threaded setting every time.
        setting: str | int = 1 if len(times[1]) < len(times[AS_SET]) else AS_SET
        settling = not self._settled.pop(key, False)
        started = time.perf_counter()
        result = function(*args) if setting == AS_SET else self._limited(1, function, args)
        if settling:
            self._settled[key] = True
            return result
        times[setting].append(time.perf_counter() - started)
        if len(times[1]) >= self.trials:  # the second of each round: both have them
            one, as_set = statistics.median(times[1]), statistics.median(times[AS_SET])
            self._choose(key, 1 if one < (1 - self.margin) * as_set else AS_SET)
            del self._times[key]
        return result

    def _choose(self, key: tuple[str, int], choice: str | int) -> None:
        self.chosen[key] = choice
        self._chosen_at[key] = time.perf_counter()

    def _limited(self, threads: int, function: Callable[..., Any], args: tuple) -> Any:
        libraries = self._libraries_above(threads)
        before = [library.num_threads for library in libraries]
        for library in libraries:
            library.set_num_threads(threads)
        try:
            return function(*args)
        finally:
            for library, count in zip(libraries, before, strict=True):
                library.set_num_threads(count)

    def _libraries_above(self, threads: int) -> list[Any]:
        """The loaded BLAS libraries set to more than ``threads`` threads (none without
        threadpoolctl). Looked up once, at the first call that sets threads: by then
        the step's BLAS (NumPy's, and SciPy's for numba's products) is loaded."""
        if self._libraries is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                self._libraries = []
            else:
                controller = ThreadpoolController().select(user_api="blas")
                self._libraries = list(controller.lib_controllers)
        return [library for library in self._libraries if library.num_threads > threads]

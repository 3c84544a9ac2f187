"""Counting a function's Python calls, the cost measure of issue 20's tests: a loaded machine cannot
skew it, but a garbage collection can (a long test worker's earlier objects, finalized inside the
profile, add their calls to whatever runs then), so the count runs after a collection with the
collector off."""

from __future__ import annotations

import cProfile
import gc
import pstats


def python_calls(function, *args, **kwargs) -> int:
    """Python calls made by `function(*args, **kwargs)`."""
    gc.collect()
    profile = cProfile.Profile()
    gc.disable()
    try:
        profile.runcall(function, *args, **kwargs)
    finally:
        gc.enable()
    return sum(stats[1] for stats in pstats.Stats(profile).stats.values())

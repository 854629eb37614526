"""Garbage-collector settings for a long-running web process.

A list page builds a few hundred model instances, so CPython's default thresholds run a full
collection every few dozen requests, and a full collection walks every object of Django and
Patron loaded at startup: ~100 ms each on the benchmark machine, which made p95 four to six
times p50. Freezing what exists once the app is loaded takes those objects out of every
later collection, and a larger first-generation threshold makes collections rarer.
See docs/benchmarks.md.
"""

import gc

FIRST_GENERATION_THRESHOLD = 10_000


def tune_for_serving() -> None:
    """Call once the application is loaded, before serving requests."""
    from django.urls import get_resolver

    get_resolver().check()  # imports every view and the API now, so that they are frozen too
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, second, third)

"""Pausing Python's cyclic garbage collector while a use case builds many short-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the ``with`` block (restored after it).

    For work that makes millions of short-lived objects and no reference cycles (memory is still
    freed by reference counting), where the collector's repeated full passes over the registry
    frame's objects cost much time: a quarter of a dashboard figure's time at 10,000 patients,
    and 9.3 s instead of 2.5 s for the FHIR export of 10,000 patients (measured).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

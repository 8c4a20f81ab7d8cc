"""The collector pause used by the dashboard and the exports restores the collector's state."""

from __future__ import annotations

import gc

import pytest

from ilpkit.services.gc_pause import without_cyclic_gc


@pytest.fixture(autouse=True)
def restore_gc():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_enabled_after():
    gc.enable()
    with without_cyclic_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_again_after_an_error():
    gc.enable()
    with pytest.raises(RuntimeError), without_cyclic_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_left_disabled_when_it_was_disabled():
    gc.disable()
    with without_cyclic_gc():
        pass
    assert not gc.isenabled()

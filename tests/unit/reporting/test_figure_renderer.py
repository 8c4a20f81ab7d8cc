"""Figures queued on a FigureRenderer: drawn once each, in worker processes where possible,
and the files are the same as drawn one after the other here."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ilpkit.reporting import figures as figs

needs_fork = pytest.mark.skipif(not figs._can_fork(), reason="worker processes need fork")


def _draw(label: str, log: Path | None = None, fail_in_worker: bool = False, pause: float = 0):
    parent = os.getpid()

    def draw():
        if log is not None:
            with log.open("a") as out:
                out.write(f"{label} {os.getpid()}\n")
        if fail_in_worker and os.getpid() != parent:
            raise RuntimeError("worker failure")
        time.sleep(pause)
        fig = figs.new_figure(3, 2)
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [1, 0.5, 0.25 + len(label) / 10], label=label)
        ax.set_title(label)
        return fig

    return draw


def _queue(renderer: figs.FigureRenderer, draws: list) -> list[figs.RenderedFigure]:
    return [
        renderer.add(d, key=f"fig{i:02d}", number=i + 1, title=f"T{i}", caption="C")
        for i, d in enumerate(draws)
    ]


def test_parallel_files_equal_the_serial_ones_and_each_figure_is_drawn_once(tmp_path):
    labels = ["one", "two", "three", "four", "five"]
    with figs.figure_style():
        renderer = figs.FigureRenderer(workers=1)
        serial = _queue(renderer, [_draw(x) for x in labels])
        renderer.run()
        log = tmp_path / "drawn.log"
        renderer = figs.FigureRenderer(workers=2)
        parallel = _queue(renderer, [_draw(x, log, pause=0.2) for x in labels])
        ticks: list[tuple[int, int]] = []
        renderer.run(lambda done, total: ticks.append((done, total)))
    for a, b in zip(serial, parallel, strict=True):
        assert a.png[:8] == b"\x89PNG\r\n\x1a\n"
        assert (a.png, a.svg) == (b.png, b.svg)
    drawn = log.read_text().split()
    assert sorted(drawn[0::2]) == sorted(labels)  # each figure drawn exactly once
    if figs._can_fork():
        assert len(set(drawn[1::2])) == 2  # by this process and one worker
    assert ticks[-1] == (5, 5)


@needs_fork
def test_a_figure_a_worker_fails_on_is_drawn_here(tmp_path):
    draws = [_draw(x, pause=0.2, fail_in_worker=True) for x in ("a", "b", "c", "d")]
    with figs.figure_style():
        renderer = figs.FigureRenderer(workers=2)
        queued = _queue(renderer, draws)
        renderer.run()
    assert all(f.svg.startswith(b"<?xml") and f.png for f in queued)


def test_a_figure_that_cannot_be_drawn_raises_here():
    def broken():
        raise ValueError("no data to draw")

    with figs.figure_style():
        renderer = figs.FigureRenderer(workers=2)
        _queue(renderer, [_draw("a"), broken, _draw("c")])
        with pytest.raises(ValueError, match="no data to draw"):
            renderer.run()


def test_render_later_draws_at_once_without_a_renderer_and_queues_with_one():
    with figs.figure_style():
        now = figs.render_later(_draw("x"), key="k", number=1, title="T", caption="C")
        assert now.svg.startswith(b"<?xml")
        renderer = figs.FigureRenderer(workers=1)
        with figs.deferred_rendering(renderer):
            later = figs.render_later(_draw("x"), key="k", number=1, title="T", caption="C")
        with pytest.raises(RuntimeError, match="has no PNG file"):
            _ = later.png
        renderer.run()
    assert (later.png, later.svg) == (now.png, now.svg)


def test_ilp_figure_workers_1_draws_everything_in_this_process(tmp_path, monkeypatch):
    monkeypatch.setenv("ILP_FIGURE_WORKERS", "1")
    log = tmp_path / "drawn.log"
    with figs.figure_style():
        renderer = figs.FigureRenderer()
        queued = _queue(renderer, [_draw(x, log) for x in ("a", "b", "c")])
        renderer.run()
    assert set(log.read_text().split()[1::2]) == {str(os.getpid())}
    assert all(f.formats == ("png", "svg") for f in queued)


def test_svg_only_draws_each_figure_once_without_png(tmp_path):
    with figs.figure_style():
        renderer = figs.FigureRenderer(workers=2, formats=("svg",))
        queued = _queue(renderer, [_draw(x) for x in ("a", "b", "c")])
        renderer.run()
    assert all(f.formats == ("svg",) and f.svg.startswith(b"<?xml") for f in queued)
    with pytest.raises(RuntimeError, match="has no PNG file"):
        _ = queued[0].png

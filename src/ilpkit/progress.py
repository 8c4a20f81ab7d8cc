"""The progress callback of long commands (``ilp synth``, ``ilp report``, ``ilp demo``)."""

from __future__ import annotations

from collections.abc import Callable

StageProgress = Callable[[str, int, int], None]
"""Called with (stage, done, total) as a long task advances; each task names its stages."""

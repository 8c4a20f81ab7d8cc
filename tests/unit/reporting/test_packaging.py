"""The report's templates and data file ship with the package (not only in a source checkout)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import ilpkit

ROOT = Path(__file__).parents[3]
PACKAGE = Path(ilpkit.__file__).parent


def _package_data() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["setuptools"]["package-data"]["ilpkit"])


def test_templates_and_published_series_are_package_data():
    patterns = _package_data()
    files = [
        p.relative_to(PACKAGE).as_posix()
        for p in (PACKAGE / "reporting" / "templates").iterdir()
        if p.is_file()
    ] + ["data/published_series.toml"]
    assert len(files) >= 4
    missing = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert missing == [], (
        f"not shipped in a wheel: {missing}; add 'reporting/templates/*' to "
        "[tool.setuptools.package-data] ilpkit in pyproject.toml"
    )

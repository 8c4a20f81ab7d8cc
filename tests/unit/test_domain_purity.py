"""The domain and planning cores import no framework and do no file I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import ilpkit

# csv and io stay allowed: parsing text already in memory is not I/O.
FORBIDDEN_MODULES = {
    "sqlalchemy",
    "alembic",
    "psycopg",
    "fastapi",
    "starlette",
    "typer",
    "rich",
    "pandas",
    "os",
    "pathlib",
    "shutil",
    "sqlite3",
    "requests",
    "httpx",
    "matplotlib",
}
FORBIDDEN_CALLS = {"open", "print", "input"}
PACKAGE = Path(ilpkit.__file__).parent
PURE_PACKAGES = ["domain", "planning"]


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{path.name}:{node.lineno} imports {name}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FORBIDDEN_CALLS
        ):
            found.append(f"{path.name}:{node.lineno} calls {node.func.id}()")
    return found


def test_pure_cores_exist():
    for pkg in PURE_PACKAGES:
        assert list((PACKAGE / pkg).glob("*.py")), pkg


def test_domain_and_planning_are_pure():
    violations = []
    for pkg in PURE_PACKAGES:
        for path in sorted((PACKAGE / pkg).glob("*.py")):
            violations += _violations(path)
    assert violations == []


def test_the_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom pathlib import Path\nopen('x')\n")
    assert len(_violations(bad)) == 3

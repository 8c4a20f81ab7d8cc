"""Start-up of ``ilp``: only the named command's module is imported, help stays complete, and
no command module imports the heavy libraries when the command line is built."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from ilpkit.cli.main import COMMAND_MODULES, _modules_for, build_app

HEAVY = (
    "pandas",
    "scipy",
    "matplotlib",
    "sqlalchemy",
    "fastapi",
    "uvicorn",
    "alembic",
    "numpy",
    "pyarrow",
)


def _command_names(app: typer.Typer) -> set[str]:
    group = typer.main.get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


def test_every_command_is_mapped_to_its_module():
    # every command that the full application has is in the map, and nothing else
    assert _command_names(build_app()) == set(COMMAND_MODULES)


@pytest.mark.parametrize("command", sorted(COMMAND_MODULES))
def test_a_named_command_registers_its_own_module_only(command):
    app = build_app([command, "--help"])
    names = _command_names(app)
    assert command in names
    same_module = {c for c, m in COMMAND_MODULES.items() if m == COMMAND_MODULES[command]}
    assert names == same_module


@pytest.mark.parametrize(
    "argv",
    [[], ["--help"], ["-h"], ["--version"], ["--help", "predict"], ["prdict"], ["pred"]],
)
def test_help_version_and_unknown_names_register_everything(argv):
    assert _modules_for(argv) == list(dict.fromkeys(COMMAND_MODULES.values()))


def test_top_level_help_lists_every_command():
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from ilpkit.cli.main import run; run()", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    for command in COMMAND_MODULES:
        assert f" {command} " in done.stdout, command


@pytest.mark.parametrize("command", sorted(set(COMMAND_MODULES)))
def test_building_a_command_imports_no_heavy_library(command):
    code = (
        "import sys, typer\n"
        "from ilpkit.cli.main import build_app\n"
        f"typer.main.get_command(build_app([{command!r}]))\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""

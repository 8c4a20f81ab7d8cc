"""Every command's --help, and the perfusion sheet, fit an 80-column terminal without cutting
names, option texts, values or words."""

from __future__ import annotations

import enum
import re
from typing import Any

import pytest
import typer
from rich.errors import MarkupError
from rich.text import Text
from typer.testing import CliRunner

from ilpkit.adapters.protocol_file import ENV_VAR
from ilpkit.cli.main import build_app

NARROW = {"COLUMNS": "80", "LINES": "50", ENV_VAR: "", "TERMINAL_WIDTH": ""}
BOX = re.compile(r"[│╭╮╰╯─┃━┏┓┗┛┡┩┣┫╇╈┳┻╋┼├┤┬┴]")


def walk(command: Any, path: tuple[str, ...] = ()):
    """Every command path of the CLI, the group itself first."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, (*path, name))


COMMANDS = list(walk(typer.main.get_command(build_app())))


def plain(text: str | None) -> str:
    if not text:
        return ""
    try:
        return Text.from_markup(text).plain
    except MarkupError:
        return text


def source_words(command: Any) -> set[str]:
    """The words of the help texts, option names, value types and choices as written in the
    code."""
    texts = [command.help, command.epilog]
    ctx = typer.Context(command)
    for param in command.params:
        texts.append(getattr(param, "help", None))
        texts.extend(param.opts)
        if param.metavar:
            texts.append(param.metavar)
        shown_type = param.display_type_rich(ctx=ctx)
        if shown_type and not shown_type.startswith("<list"):  # the list's item type needs
            texts.append(shown_type)  # the real context; the others are whole words
        annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            texts.extend(str(member.value) for member in annotation)
    texts.extend(getattr(command, "commands", {}))
    words = set()
    for text in texts:
        words.update(w for w in plain(text).replace("\b", " ").split() if w)
    return words


def test_the_walk_finds_every_command():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "plan", "plans", "leakage", "import", "report", "analyze"} <= names


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "ilp" for p, _ in COMMANDS]
)
def test_help_fits_80_columns_without_cutting(path, command):
    result = CliRunner().invoke(build_app(), [*path, "--help"], env=NARROW)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    too_long = [line for line in lines if len(line) > 80]
    assert too_long == []
    assert "…" not in result.output
    rendered = [" ".join(BOX.sub(" ", line).split()) for line in lines]
    cut = sorted(w for w in source_words(command) if not any(w in line for line in rendered))
    assert cut == [], f"words cut or missing in 'ilp {' '.join(path)} --help': {cut}"


SHEETS = [
    # worked example (docs/planning.md section 6): 6.30 L, 63.0 mg, 252 and 189 mL/min
    (
        ["--limb", "leg", "--level", "femoral", "--circumferences-cm", "56,48,40,36,30,24",
         "--spacing-cm", "10", "--labs", "leukocytes_e9_per_l=2.0,severe_ascites=no"],
        ["6.30 L", "63.0 mg", "252 mL/min (40 mL/L/min)", "189 mL/min (30 mL/L/min)",
         "700-800 mL", "38-39.5 °C", "at or above 40 °C", "[15]"],
    ),
    # 16 L leg: 10 x 16 = 160 mg, capped at 150 mg = 9.38 mg/L; flow 40 x 16 = 640 mL/min
    (
        ["--limb", "leg", "--level", "iliac", "--volume-l", "16"],
        ["16.00 L", "150.0 mg", "640 mL/min (40 mL/L/min)", "480 mL/min (30 mL/L/min)"],
    ),
    # every laboratory contraindication at once: nine blocking findings, sources [14]-[22]
    (
        ["--limb", "leg", "--level", "femoral", "--volume-l", "8", "--labs",
         "leukocytes_e9_per_l=2.0,haemoglobin_g_per_dl=8,platelets_e9_per_l=50,"
         "creatinine_umol_per_l=200,ast_x_uln=3,alt_x_uln=3,alkaline_phosphatase_x_uln=3,"
         "bilirubin_x_uln=2,calcium_mg_per_dl=13"],
        ["8.00 L", "80.0 mg", "Creatinine 200 µmol/L is above 150 µmol/L", "[22]"],
    ),
    # 12 L arm: unlikely volume; 13 x 12 = 156 mg capped at 150 mg
    (
        ["--limb", "arm", "--level", "axillary", "--volume-l", "12", "--protocol", "reduced-tnf"],
        ["12.00 L", "1 mg", "150.0 mg", "480 mL/min (40 mL/L/min)", "LIMB VOLUME UNLIKELY"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("args", "values"), SHEETS)
def test_plan_sheet_fits_80_columns_without_cutting_values(args, values):
    result = CliRunner().invoke(build_app(), ["plan", *args], env=NARROW)
    assert result.exit_code in (0, 3), result.output
    lines = result.output.splitlines()
    assert [line for line in lines if len(line) > 80] == []
    assert "…" not in result.output
    for value in values:
        assert any(value in line for line in lines), value


def test_plans_table_fits_80_columns_without_cutting(tmp_path, row_factory, csv_file):
    db = str(tmp_path / "r.sqlite3")
    for args in (
        ["--limb", "leg", "--level", "femoral", "--volume-l", "8.6", "--save", "SYN-0001",
         "2001-03-14"],
        ["--limb", "leg", "--level", "iliac", "--volume-l", "14.5", "--protocol", "low-dose-tnf",
         "--save", "SYN-0043", "2026-11-05"],
    ):  # fmt: skip
        assert CliRunner().invoke(build_app(), ["plan", *args, "--db", db]).exit_code == 0
    # the recorded perfusion (conftest row): leg femoral 8 L, TNF 3 mg, melphalan 80 mg
    imported = CliRunner().invoke(
        build_app(), ["import", str(csv_file([row_factory()])), "--db", db]
    )
    assert imported.exit_code == 0, imported.output
    result = CliRunner().invoke(build_app(), ["plans", "--db", db], env=NARROW)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line for line in lines if len(line) > 80] == []
    assert "…" not in result.output
    # 10 mg/L x 8.6 L = 86 mg planned, 80 mg given; low-dose-tnf: 1 mg, 10 x 14.5 = 145 mg
    for value in ("2001-03-14", "2026-11-05", "low-dose-tnf", "8.6 / 8", "4 / 3", "86 / 80",
                  "14.5 / -", "145 / -", "(differs)", "femoral", "iliac"):  # fmt: skip
        assert any(value in line for line in lines), value


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "ilp" for p, _ in COMMANDS]
)
def test_help_summary_is_one_line(path, command):
    """The first paragraph of every help text is one line of source: the help keeps the
    docstring's line breaks, so a summary broken over two lines prints ragged."""
    first = (command.help or "").strip().split("\n\n")[0]
    assert "\n" not in first, f"{' '.join(path)}: summary spans lines: {first!r}"

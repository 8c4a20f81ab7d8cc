"""Which protocol file is read: --protocol-file, then $ILP_PROTOCOL_FILE, then the shipped one."""

from __future__ import annotations

import pytest

from ilpkit.adapters.protocol_file import (
    ENV_VAR,
    SHIPPED_ORIGIN,
    load_protocol_book,
    read_protocol_text,
    shipped_protocol_text,
)
from ilpkit.planning.errors import ProtocolError


def centre_file(tmp_path, name="centre.toml"):
    path = tmp_path / name
    text = shipped_protocol_text().replace(
        'title = "Beromun label dose (SmPC)"', 'title = "Our label protocol"'
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_file_by_default():
    text, origin = read_protocol_text(None, environ={})
    assert origin == SHIPPED_ORIGIN
    assert "[protocols.label]" in text
    assert load_protocol_book(environ={}).protocol().name == "label"


def test_environment_variable(tmp_path):
    path = centre_file(tmp_path)
    book = load_protocol_book(environ={ENV_VAR: str(path)})
    assert book.origin == str(path)
    assert book.protocol("label").title == "Our label protocol"


def test_explicit_path_wins_over_the_environment(tmp_path):
    path = centre_file(tmp_path, "explicit.toml")
    book = load_protocol_book(path, environ={ENV_VAR: str(tmp_path / "other.toml")})
    assert book.origin == str(path)


def test_empty_environment_variable_means_shipped():
    assert read_protocol_text(None, environ={ENV_VAR: "  "})[1] == SHIPPED_ORIGIN


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "file not found"),
        ("directory", "is a directory, not a file"),
        ("latin1", "is not UTF-8 text"),
    ],
)
def test_unreadable_files(tmp_path, setup, expected):
    path = tmp_path / "p.toml"
    if setup == "directory":
        path.mkdir()
    elif setup == "latin1":
        path.write_bytes('title = "Grünhagen"'.encode("latin-1"))
    with pytest.raises(ProtocolError) as info:
        load_protocol_book(path, environ={})
    assert str(info.value).startswith(f"protocol file {path}: {expected}")


def test_missing_file_named_by_the_environment_says_so(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ProtocolError, match=f"file not found \\(from {ENV_VAR}\\)"):
        load_protocol_book(environ={ENV_VAR: str(path)})

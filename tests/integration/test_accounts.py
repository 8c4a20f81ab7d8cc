"""Web accounts: migration 0007, argon2 hashes, lock-out, sessions, and the ``ilp user`` CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from tests.integration.webdata import PASSWORD
from typer.testing import CliRunner

from ilpkit.adapters.db.engine import downgrade, make_engine, upgrade
from ilpkit.adapters.db.tables import audit_log, login_attempts, sessions, users
from ilpkit.cli.main import build_app
from ilpkit.services import accounts

ACCOUNT_TABLES = {"users", "user_centers", "sessions", "login_attempts"}


def test_accounts_migration_upgrades_and_downgrades(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0005")
        assert not ACCOUNT_TABLES & set(sa.inspect(engine).get_table_names())
        upgrade(engine, "0007")
        assert set(sa.inspect(engine).get_table_names()) >= ACCOUNT_TABLES
        checks = {c["name"] for c in sa.inspect(engine).get_check_constraints("users")}
        assert "ck_users_role" in checks
        downgrade(engine, "0005")
        assert not ACCOUNT_TABLES & set(sa.inspect(engine).get_table_names())
        assert "patients" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _one(url, query):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(query).all()
    finally:
        engine.dispose()


def test_password_is_stored_as_argon2_and_audited_without_it(db_url):
    accounts.add_user(db_url, "anna", PASSWORD, "data_manager", ["CA", "CB"], "boss")
    [(stored,)] = _one(db_url, sa.select(users.c.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    [(details,)] = _one(db_url, sa.select(audit_log.c.details))
    assert details == {"role": "data_manager", "centers": ["CA", "CB"]}
    [account] = accounts.list_users(db_url)
    assert (account.username, account.role, account.centers) == (
        "anna",
        "data_manager",
        ("CA", "CB"),
    )


@pytest.mark.parametrize(
    ("name", "role", "centers", "password", "message"),
    [
        ("anna", "surgeon", ["CA"], PASSWORD, "role 'surgeon' does not exist"),
        ("anna", "clinician", [], PASSWORD, "needs at least one centre"),
        ("anna", "clinician", ["CA"], "short", "has 5 characters"),
        ("an na", "clinician", ["CA"], PASSWORD, "is not valid"),
    ],
)
def test_invalid_accounts_are_refused(sqlite_url, name, role, centers, password, message):
    with pytest.raises(accounts.AccountError, match=message):
        accounts.add_user(sqlite_url, name, password, role, centers, "boss")


def _conn_do(url, fn):
    engine = make_engine(url, write_lock=True)
    try:
        with engine.begin() as conn:
            return fn(conn)
    finally:
        engine.dispose()


def test_lock_out_after_five_failures_even_with_the_right_password(db_url):
    accounts.add_user(db_url, "anna", PASSWORD, "clinician", ["CA"], "boss")
    assert _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD)).ok
    for attempt in range(1, 6):
        result = _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", "wrong password!"))
        assert not result.ok
        assert result.locked is (attempt == 5)
    result = _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD))
    assert (result.ok, result.locked) == (False, True)
    # failures older than the window no longer count
    old = datetime.now(UTC) - timedelta(minutes=16)
    _conn_do(db_url, lambda c: c.execute(sa.update(login_attempts).values(at=old)))
    assert _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD)).ok


def test_reset_password_lifts_the_lock_and_ends_sessions(db_url):
    accounts.add_user(db_url, "anna", PASSWORD, "clinician", ["CA"], "boss")
    uid = _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD)).user_id
    token, _ = _conn_do(db_url, lambda c: accounts.open_session(c, uid, "web"))
    for _ in range(5):
        assert not _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", "nope nope nope")).ok
    assert _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD)).locked
    accounts.reset_password(db_url, "anna", "another long password", "boss")
    assert _conn_do(db_url, lambda c: accounts.session_user(c, token, "web")) is None
    assert _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", "another long password")).ok


def test_sessions_are_stored_hashed_and_end_when_idle_or_disabled(db_url):
    accounts.add_user(db_url, "anna", PASSWORD, "clinician", ["CA"], "boss")
    uid = _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD)).user_id
    token, csrf = _conn_do(db_url, lambda c: accounts.open_session(c, uid, "web"))
    [(stored,)] = _one(db_url, sa.select(sessions.c.token_hash))
    assert stored != token and len(stored) == 64
    user = _conn_do(db_url, lambda c: accounts.session_user(c, token, "web"))
    assert (user.username, user.centers, user.csrf_token) == ("anna", frozenset({"CA"}), csrf)
    assert _conn_do(db_url, lambda c: accounts.session_user(c, token, "api")) is None
    idle = datetime.now(UTC) - timedelta(minutes=31)
    _conn_do(db_url, lambda c: c.execute(sa.update(sessions).values(last_seen_at=idle)))
    assert _conn_do(db_url, lambda c: accounts.session_user(c, token, "web")) is None
    token, _ = _conn_do(db_url, lambda c: accounts.open_session(c, uid, "web"))
    assert accounts.disable_user(db_url, "anna", "boss") is True
    assert _conn_do(db_url, lambda c: accounts.session_user(c, token, "web")) is None
    assert not _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD)).ok


def test_cli_user_add_list_disable_reset(db_url):
    runner = CliRunner()
    app = build_app()
    add = ["user", "add", "anna", "--role", "monitor", "--center", "CA", "--db", db_url]
    result = runner.invoke(app, add, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Added user anna (monitor; CA)" in result.output
    assert PASSWORD not in result.output
    again = runner.invoke(app, add, input=PASSWORD + "\n")
    assert again.exit_code == 1 and "already a user 'anna'" in again.output
    short = runner.invoke(app, [*add[:2], "bob", *add[3:]], input="short\n")
    assert short.exit_code == 1 and "at least 12" in short.output
    listed = runner.invoke(app, ["user", "list", "--db", db_url])
    assert listed.exit_code == 0 and "anna" in listed.output and "monitor" in listed.output
    assert "bob" not in listed.output
    assert runner.invoke(app, ["user", "disable", "anna", "--db", db_url]).exit_code == 0
    listed = runner.invoke(app, ["user", "list", "--db", db_url])
    assert "disabled" in listed.output
    reset = runner.invoke(
        app, ["user", "reset-password", "nobody", "--db", db_url], input=PASSWORD + "\n"
    )
    assert reset.exit_code == 1 and "no user 'nobody'" in reset.output


def test_old_attempts_and_idle_sessions_are_pruned(db_url):
    accounts.add_user(db_url, "anna", PASSWORD, "clinician", ["CA"], "boss")
    accounts.add_user(db_url, "bob", PASSWORD, "clinician", ["CA"], "boss")
    bob = _conn_do(db_url, lambda c: accounts.authenticate(c, "bob", PASSWORD)).user_id
    _conn_do(db_url, lambda c: accounts.open_session(c, bob, "web"))
    for _ in range(3):
        _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", "wrong password"))
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    _conn_do(db_url, lambda c: c.execute(sa.update(login_attempts).values(at=long_ago)))
    _conn_do(db_url, lambda c: c.execute(sa.update(sessions).values(last_seen_at=long_ago)))
    anna = _conn_do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD)).user_id
    _conn_do(db_url, lambda c: accounts.open_session(c, anna, "api"))
    # anna's 3 old failures are gone (her new success stays); bob's old success is not touched
    attempts = _one(db_url, sa.select(login_attempts.c.username, login_attempts.c.succeeded))
    assert sorted(attempts) == [("anna", True), ("bob", True)]
    # bob's idle session went when anna's token was issued
    assert _one(db_url, sa.select(sessions.c.kind)) == [("api",)]

"""A session's last use is written only when it is older than the touch interval, so most
requests stay read-only; a session still ends after the idle timeout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from tests.integration.webdata import PASSWORD

from ilpkit.adapters.db.engine import make_engine, upgrade
from ilpkit.adapters.db.tables import sessions
from ilpkit.services import accounts


def _do(url, action):
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            return action(conn)
    finally:
        engine.dispose()


def _last_seen(url) -> datetime:
    value = _do(url, lambda c: c.execute(sa.select(sessions.c.last_seen_at)).scalar_one())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _set_last_seen(url, when: datetime) -> None:
    _do(url, lambda c: c.execute(sa.update(sessions).values(last_seen_at=when)))


def test_touch_interval_is_a_minute_and_at_most_a_thirtieth_of_the_timeout():
    assert accounts.touch_interval(timedelta(minutes=30)) == timedelta(minutes=1)
    assert accounts.touch_interval(timedelta(minutes=3)) == timedelta(seconds=6)


def test_recent_use_is_not_written_again_and_older_use_is(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    accounts.add_user(db_url, "anna", PASSWORD, "clinician", ["CA"], "boss")
    uid = _do(db_url, lambda c: accounts.authenticate(c, "anna", PASSWORD)).user_id
    token, _ = _do(db_url, lambda c: accounts.open_session(c, uid, "web"))
    now = datetime.now(UTC)
    recent = now - timedelta(seconds=30)
    _set_last_seen(db_url, recent)
    assert _do(db_url, lambda c: accounts.session_user(c, token, "web")) is not None
    assert abs(_last_seen(db_url) - recent) < timedelta(seconds=1)  # not rewritten
    older = now - timedelta(minutes=5)
    _set_last_seen(db_url, older)
    assert _do(db_url, lambda c: accounts.session_user(c, token, "web")) is not None
    assert _last_seen(db_url) >= now - timedelta(seconds=5)  # written anew
    _set_last_seen(db_url, now - timedelta(minutes=31))
    assert _do(db_url, lambda c: accounts.session_user(c, token, "web")) is None

"""Use case: one web account per role for the SYNTHETIC demo registry (``ilp demo --serve``).

Each account gets a new random password (:mod:`secrets`), returned to the caller once to be
shown to the person running the demo; the database keeps only its argon2 hash. Accounts that
exist already (a second run into the same folder) get a new password, which also ends their
sessions and lifts a lock-out; the audit log records that, never the password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from ilpkit.adapters.db.tables import ROLES, patients
from ilpkit.services.accounts import add_user, list_users, reset_password
from ilpkit.services.unit_of_work import UnitOfWork

DEMO_USER_PREFIX = "demo-"
"""Demo account names are this prefix followed by the role (``demo-clinician``)."""
PASSWORD_BYTES = 15
"""Random bytes of a demo password (20 URL-safe characters, 120 bits)."""


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo account and its password, to be shown once.

    Attributes
    ----------
    username, role : str
    centers : tuple of str
        Centres granted (empty for the admin, who sees every centre).
    password : str
        The new password (in clear; never stored).
    existed : bool
        True when the account was there already and only its password was reset.
    disabled : bool
        True when the existing account is disabled (it stays disabled).
    """

    username: str
    role: str
    centers: tuple[str, ...]
    password: str
    existed: bool
    disabled: bool = False


def demo_username(role: str) -> str:
    """The demo account name of ``role``."""
    return f"{DEMO_USER_PREFIX}{role}"


def registry_centers(url: str) -> tuple[str, ...]:
    """The centre codes of the registry's patients, sorted."""
    with UnitOfWork(url, write=False) as uow:
        rows = uow.connection.execute(
            sa.select(patients.c.center).distinct().order_by(patients.c.center)
        ).scalars()
        return tuple(str(c) for c in rows)


def ensure_demo_accounts(url: str, actor: str) -> list[DemoAccount]:
    """Create (or reset the password of) one demo account per role, in :data:`ROLES` order.

    Every non-admin account is granted every centre of the registry (the SYNTHETIC demo
    registry has one, ``SYNTH``).

    Parameters
    ----------
    url : str
        The registry.
    actor : str
        Who runs it, for the audit log.

    Returns
    -------
    list of DemoAccount
        With the new passwords in clear: show them once, keep them nowhere.
    """
    centers = registry_centers(url)
    existing = {a.username: a for a in list_users(url)}
    out: list[DemoAccount] = []
    for role in ROLES:
        name = demo_username(role)
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        found = existing.get(name)
        if found is not None:
            reset_password(url, name, password, actor)
            out.append(DemoAccount(name, found.role, found.centers, password, True, found.disabled))
        else:
            granted = () if role == "admin" else centers
            account = add_user(url, name, password, role, granted, actor)
            out.append(DemoAccount(name, role, account.centers, password, False))
    return out

"""Account commands of the web application: ``ilp user add/list/disable/reset-password``.

Passwords are never taken from the command line (where other users of the machine and the shell
history could read them): they are asked for at a prompt, twice, or read as the first line of
standard input when that is not a terminal (``printf '%s\\n' "$PW" | ilp user add ...``).
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from typing import Annotated

import typer
from rich.table import Table

from ilpkit import config
from ilpkit.cli.console import DbOption, fail, safe, stdout


def _read_password() -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        value = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return str(value)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        fail("no password was given on standard input (give it as the first line)")
    return password


def _account_errors(url: str) -> AbstractContextManager[None]:
    from ilpkit.cli.registry_commands import database_errors

    return database_errors(url)


def user_add(
    name: Annotated[str, typer.Argument(help="User name.", show_default=False)],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="admin, data_manager, clinician, statistician or monitor.",
            show_default=False,
        ),
    ],
    center: Annotated[
        list[str] | None,
        typer.Option("--center", help="A centre code the user may see (repeat for several)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a web account; the password is asked for at a prompt or read from standard input.

    [b]Example[/b]

      ilp user add anna --role data_manager --center NKI --center LUMC
    """
    from ilpkit.services.accounts import AccountError, add_user, check_password, check_username

    url = config.database_url(db)
    try:
        check_username(name)
        password = check_password(_read_password())
        with _account_errors(url):
            account = add_user(url, name, password, role, center or [], config.actor())
    except AccountError as exc:
        fail(str(exc))
    where = ", ".join(account.centers) if account.centers else "every centre"
    stdout().print(f"Added user {safe(account.username)} ({account.role}; {safe(where)}).")


def user_list(db: DbOption = None) -> None:
    """List the web accounts: name, role, centres, whether disabled. Writes nothing."""
    from ilpkit.cli.registry_commands import _require_existing_sqlite
    from ilpkit.services.accounts import list_users

    url = config.database_url(db)
    _require_existing_sqlite(url)
    with _account_errors(url):
        accounts = list_users(url)
    table = Table(title="Web accounts")
    for col in ("user", "role", "centres", "status", "created (UTC)"):
        table.add_column(col)
    for a in accounts:
        table.add_row(
            safe(a.username),
            a.role,
            safe(", ".join(a.centers))
            if a.centers
            else "(every centre)"
            if a.role == "admin"
            else "",
            "disabled" if a.disabled else "active",
            a.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    stdout().print(table if accounts else "No web accounts yet; add one with 'ilp user add'.")


def user_disable(
    name: Annotated[str, typer.Argument(help="User name.", show_default=False)],
    db: DbOption = None,
) -> None:
    """Disable a web account and end its sessions and tokens."""
    from ilpkit.cli.registry_commands import _require_existing_sqlite
    from ilpkit.services.accounts import AccountError, disable_user

    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with _account_errors(url):
            changed = disable_user(url, name, config.actor())
    except AccountError as exc:
        fail(str(exc))
    if changed:
        stdout().print(f"Disabled user {safe(name)}; its sessions and tokens were ended.")
    else:
        stdout().print(f"User {safe(name)} was already disabled.")


def user_reset_password(
    name: Annotated[str, typer.Argument(help="User name.", show_default=False)],
    db: DbOption = None,
) -> None:
    """Set a new password (prompt or standard input); ends sessions and lifts a lock-out."""
    from ilpkit.cli.registry_commands import _require_existing_sqlite
    from ilpkit.services.accounts import AccountError, check_password, reset_password

    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        password = check_password(_read_password())
        with _account_errors(url):
            reset_password(url, name, password, config.actor())
    except AccountError as exc:
        fail(str(exc))
    stdout().print(f"Set a new password for user {safe(name)}; its sessions were ended.")


def register(app: typer.Typer) -> None:
    """Add the ``user`` command group to ``app``."""
    group = typer.Typer(
        name="user",
        help="Web accounts: add, list, disable, reset a password.",
        no_args_is_help=True,
    )
    group.command("add")(user_add)
    group.command("list")(user_list)
    group.command("disable")(user_disable)
    group.command("reset-password")(user_reset_password)
    app.add_typer(group, name="user")

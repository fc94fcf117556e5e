"""`perisai user add | list | disable | enable | passwd | budget` and `perisai serve`.

The review web UI: docs/web.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..cli_kit import CaseArg, Db, JsonOut, KeyFile, Who, app, emit, fail, open_case
from ..errors import BadInput, PerisaiError

PASSWORD_ENV = "PERISAI_USER_PASSWORD"  # noqa: S105 - a variable name

user_app = typer.Typer(
    help="Accounts of the review web UI (pseudonymous names, Argon2id passwords).",
    no_args_is_help=True,
)
app.add_typer(user_app, name="user")


def _password(prompt: str = "New user's password: ") -> str:
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise BadInput("the two passwords differ")
        return first
    raise BadInput(f"no password: set {PASSWORD_ENV} or run in a terminal to be asked")


@user_app.command("add")
def user_add(
    case: CaseArg,
    name: Annotated[str, typer.Argument(help="Pseudonymous user name (kept in custody log).")],
    role: Annotated[str, typer.Option("--role", help="admin | investigator | caseworker | viewer")],
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Add a web UI account; password from PERISAI_USER_PASSWORD or a prompt (twice)."""
    from ..users import ROLES, add_user, check_name

    try:
        # Name and role first: nobody should type a password twice to learn of a typo.
        check_name(name)
        if role not in ROLES:
            raise BadInput(f"unknown role {role!r:.40}: choose from {', '.join(ROLES)}")
        c = open_case(case, key_file, db, create=False, who=investigator)
        result = add_user(c, name, role, _password(), who=investigator)
    except PerisaiError as exc:
        fail(exc)
    emit(result, as_json, f"added {result['name']} ({result['role']})")


@user_app.command("list")
def user_list(
    case: CaseArg,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
) -> None:
    """List web UI accounts (names, roles, lockouts; never password hashes)."""
    from ..users import list_users

    try:
        c = open_case(case, key_file, db, create=False)
        users = list_users(c)
    except PerisaiError as exc:
        fail(exc)
    human = "\n".join(
        f"{u['name']}\t{u['role']}"
        + ("\tdisabled" if u["disabled"] else "")
        + (f"\tlocked until {u['locked_until_utc']}" if u["locked_until_utc"] else "")
        for u in users
    )
    emit(users, as_json, human or "no users")


def _set_disabled(
    case: Path, name: str, disabled: bool, as_json: bool, key_file: Any, db: Any, who: Any
) -> None:
    from ..users import set_disabled

    try:
        c = open_case(case, key_file, db, create=False, who=who)
        result = set_disabled(c, name, disabled, who=who)
    except PerisaiError as exc:
        fail(exc)
    state = "disabled" if disabled else "enabled"
    extra = f", {result['sessions_ended']} session(s) ended" if disabled else ""
    emit(result, as_json, f"{state} {result['name']}{extra}")


@user_app.command("disable")
def user_disable(
    case: CaseArg,
    name: Annotated[str, typer.Argument(help="The account to disable.")],
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Disable an account: it can no longer log in and its open sessions end at once."""
    _set_disabled(case, name, True, as_json, key_file, db, investigator)


@user_app.command("enable")
def user_enable(
    case: CaseArg,
    name: Annotated[str, typer.Argument(help="The account to enable again.")],
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Enable a disabled account again (and clear its login lockout)."""
    _set_disabled(case, name, False, as_json, key_file, db, investigator)


@user_app.command("passwd")
def user_passwd(
    case: CaseArg,
    name: Annotated[str, typer.Argument(help="The account whose password changes.")],
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Set a new password (PERISAI_USER_PASSWORD or a prompt, twice); ends the account's
    sessions and clears its lockout."""
    from ..users import set_password

    try:
        c = open_case(case, key_file, db, create=False, who=investigator)
        result = set_password(c, name, _password("New password: "), who=investigator)
    except PerisaiError as exc:
        fail(exc)
    emit(
        result,
        as_json,
        f"new password for {result['name']}, {result['sessions_ended']} session(s) ended",
    )


@user_app.command("budget")
def user_budget(
    case: CaseArg,
    reveals: Annotated[
        int | None, typer.Option("--reveals", help="Reveals per person per UTC day.")
    ] = None,
    minutes: Annotated[
        int | None, typer.Option("--minutes", help="Minutes of review per person per UTC day.")
    ] = None,
    as_json: JsonOut = False,
    key_file: KeyFile = None,
    db: Db = None,
    investigator: Who = None,
) -> None:
    """Show or set the case's daily exposure budget per reviewer."""
    from ..users import budget, set_budget

    try:
        c = open_case(case, key_file, db, create=False, who=investigator)
        if reveals is None and minutes is None:
            result = budget(c)
        else:
            result = set_budget(c, reveals, minutes, who=investigator)
    except PerisaiError as exc:
        fail(exc)
    emit(result, as_json, f"{result['reveals']} reveals, {result['minutes']} minutes a day")


@app.command()
def serve(
    case: CaseArg,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    key_file: KeyFile = None,
    db: Db = None,
) -> None:
    """Run the review web UI for a team (log in with accounts from `perisai user add`)."""
    from ..users import list_users
    from ..web.app import serve as run

    try:
        c = open_case(case, key_file, db, create=False)
        if not list_users(c):
            raise BadInput(f"no accounts yet: run `perisai user add {case} NAME --role admin`")
    except PerisaiError as exc:
        fail(exc)
    typer.echo(f"Perisai review UI on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    run(c, host=host, port=port)

"""Accounts of the review web UI: Argon2id passwords, roles, login lockout, exposure budget.

A user name is pseudonymous: it is what the custody log records for that person's actions
(reveals, decisions, outreach statuses), so it should not be her legal name.
"""

from __future__ import annotations

import contextlib
import re
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, insert, select, update

from .case import Case
from .custody import utc_now
from .errors import BadInput
from .store import models as m

ROLES = ("admin", "investigator", "caseworker", "viewer")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 12

# Lockout: this many failures for one name within WINDOW locks the name for LOCK.
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
# Rate limit: this many failed attempts from one client within WINDOW, then refuse unchecked.
MAX_ATTEMPTS_PER_CLIENT = 30

DEFAULT_BUDGET = {"reveals": 20, "minutes": 120}
BUDGET_KEY = "exposure_budget"

U = m.WEB_USERS
_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id (RFC 9106 low-memory profile)
# A fixed hash to verify against when the name is unknown, so timing does not tell names apart.
_DUMMY = _hasher.hash("perisai-no-such-user")


class LoginRefused(Exception):
    """A login that did not succeed; the message is safe to show (it never says which part)."""


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise BadInput(
            f"user name {name!r}: use 1-64 letters, digits, '.', '_' or '-' (a pseudonym)"
        )
    return name


def add_user(
    case: Case, name: str, role: str, password: str, who: str | None = None
) -> dict[str, Any]:
    """Create a web user. Returns {"id", "name", "role", "created_utc"}."""
    check_name(name)
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}: choose from {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"password too short: at least {MIN_PASSWORD} characters")
    created = utc_now()
    with case.begin() as conn:
        if conn.execute(select(U.c.id).where(U.c.name == name)).first():
            raise BadInput(f"user {name!r} already exists")
        user_id = conn.execute(
            insert(U).values(
                name=name,
                role=role,
                password_hash=_hasher.hash(password),
                created_utc=created,
                disabled=False,
                failed_logins=0,
                locked_until_utc=None,
            )
        ).inserted_primary_key
        assert user_id is not None
        case.log(conn, "user.add", {"name": name, "role": role}, who)
    return {"id": user_id[0], "name": name, "role": role, "created_utc": created}


def _user_row(conn: Any, name: str) -> Any:
    row = conn.execute(select(U).where(U.c.name == name)).first()
    if row is None:
        raise BadInput(f"no user {name!r} (see `perisai user list`)")
    return row


def set_disabled(
    case: Case, name: str, disabled: bool = True, who: str | None = None
) -> dict[str, Any]:
    """Disable (or enable again) an account. Disabling ends all its sessions at once and is
    refused for the last enabled admin. Logged as `user.disable` / `user.enable`.
    Returns {"name", "role", "disabled", "sessions_ended"}."""
    with case.begin() as conn:
        row = _user_row(conn, name)
        if disabled and row.role == "admin" and not row.disabled:
            admins = conn.execute(
                select(func.count()).where(U.c.role == "admin", U.c.disabled.is_(False))
            ).scalar_one()
            if admins <= 1:
                raise BadInput(f"{name!r} is the last enabled admin: add another admin first")
        conn.execute(update(U).where(U.c.id == row.id).values(disabled=disabled))
        ended = 0
        if disabled:
            ended = conn.execute(
                delete(m.WEB_SESSIONS).where(m.WEB_SESSIONS.c.user_id == row.id)
            ).rowcount
        else:  # a fresh start: old failures do not lock the account again
            conn.execute(
                update(U).where(U.c.id == row.id).values(failed_logins=0, locked_until_utc=None)
            )
        case.log(
            conn,
            "user.disable" if disabled else "user.enable",
            {"name": name, "sessions_ended": ended},
            who,
        )
    return {"name": name, "role": row.role, "disabled": disabled, "sessions_ended": ended}


def set_password(case: Case, name: str, password: str, who: str | None = None) -> dict[str, Any]:
    """Give an account a new password (Argon2id). Ends all its sessions, clears a lockout, and
    logs `user.passwd` (never the password). Returns {"name", "sessions_ended"}."""
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"password too short: at least {MIN_PASSWORD} characters")
    hashed = _hasher.hash(password)  # slow: outside the transaction
    with case.begin() as conn:
        row = _user_row(conn, name)
        conn.execute(
            update(U)
            .where(U.c.id == row.id)
            .values(password_hash=hashed, failed_logins=0, locked_until_utc=None)
        )
        ended = conn.execute(
            delete(m.WEB_SESSIONS).where(m.WEB_SESSIONS.c.user_id == row.id)
        ).rowcount
        conn.execute(delete(m.LOGIN_ATTEMPTS).where(m.LOGIN_ATTEMPTS.c.name == name))
        case.log(conn, "user.passwd", {"name": name, "sessions_ended": ended}, who)
    return {"name": name, "sessions_ended": ended}


def list_users(case: Case) -> list[dict[str, Any]]:
    """[{"id", "name", "role", "created_utc", "disabled", "locked_until_utc"}] by name."""
    cols = [U.c.id, U.c.name, U.c.role, U.c.created_utc, U.c.disabled, U.c.locked_until_utc]
    with case.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(*cols).order_by(U.c.name))]


def authenticate(
    case: Case,
    name: str,
    password: str,
    client: str,
    now: datetime | None = None,
    guard: AbstractContextManager[Any] | None = None,
) -> dict[str, Any]:
    """The user row as a dict when name and password are right and nothing is locked.

    Raises LoginRefused otherwise. Every attempt is recorded; MAX_FAILURES failures for a name
    within WINDOW lock it for LOCK (logged as `user.lockout`), and more than
    MAX_ATTEMPTS_PER_CLIENT failures from one client within WINDOW are refused unchecked.
    `guard` (e.g. a lock) is held around each write, not around the slow hash check."""
    guard = guard or contextlib.nullcontext()
    now = now or datetime.now(UTC)
    since = _iso(now - WINDOW)
    LA = m.LOGIN_ATTEMPTS
    name = name[:100]
    client = client[:64]
    with guard, case.begin() as conn:
        recent = conn.execute(
            select(func.count()).where(
                LA.c.client == client, LA.c.time_utc >= since, LA.c.ok.is_(False)
            )
        ).scalar_one()
        if recent >= MAX_ATTEMPTS_PER_CLIENT:
            raise LoginRefused("too many login attempts from here: wait 15 minutes")
        conn.execute(insert(LA).values(name=name, client=client, time_utc=_iso(now), ok=False))
        row = conn.execute(select(U).where(U.c.name == name)).first()
    if row is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY, password)
        raise LoginRefused("wrong name or password")
    if row.locked_until_utc and _parse(row.locked_until_utc) > now:
        raise LoginRefused("this account is locked for a while after failed logins")
    ok: bool
    try:
        ok = _hasher.verify(row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    with guard, case.begin() as conn:
        if not ok or row.disabled:
            failures = conn.execute(
                select(func.count()).where(
                    LA.c.name == name, LA.c.time_utc >= since, LA.c.ok.is_(False)
                )
            ).scalar_one()
            values: dict[str, Any] = {"failed_logins": row.failed_logins + 1}
            if failures >= MAX_FAILURES:
                values["locked_until_utc"] = _iso(now + LOCK)
                case.log(conn, "user.lockout", {"name": name, "failures": failures}, name)
            conn.execute(update(U).where(U.c.id == row.id).values(**values))
    if not ok or row.disabled:
        raise LoginRefused("wrong name or password")
    with guard, case.begin() as conn:
        last = conn.execute(
            select(func.max(LA.c.id)).where(LA.c.name == name, LA.c.client == client)
        ).scalar_one()
        conn.execute(update(LA).where(LA.c.id == last).values(ok=True))
        conn.execute(update(U).where(U.c.id == row.id).values(failed_logins=0))
        # A success clears this name's failure window, so old failures do not add up.
        conn.execute(delete(LA).where(LA.c.name == name, LA.c.ok.is_(False)))
        if _hasher.check_needs_rehash(row.password_hash):
            conn.execute(
                update(U).where(U.c.id == row.id).values(password_hash=_hasher.hash(password))
            )
    return {"id": row.id, "name": row.name, "role": row.role}


# -- exposure budget ------------------------------------------------------------------------
def budget(case: Case) -> dict[str, int]:
    """The case's per-person daily exposure budget: {"reveals": n, "minutes": n}."""
    S = m.WEB_SETTINGS
    with case.engine.connect() as conn:
        value = conn.execute(select(S.c.value).where(S.c.key == BUDGET_KEY)).scalar()
    return {**DEFAULT_BUDGET, **(value or {})}


def set_budget(
    case: Case, reveals: int | None = None, minutes: int | None = None, who: str | None = None
) -> dict[str, int]:
    """Change the per-person daily budget; logged as `web.budget`. Returns the new budget."""
    new = budget(case)
    for key, value in (("reveals", reveals), ("minutes", minutes)):
        if value is not None:
            if value < 0:
                raise BadInput(f"--{key} must be 0 or more")
            new[key] = int(value)
    S = m.WEB_SETTINGS
    with case.begin() as conn:
        conn.execute(delete(S).where(S.c.key == BUDGET_KEY))
        conn.execute(insert(S).values(key=BUDGET_KEY, value=new))
        case.log(conn, "web.budget", new, who)
    return new


def exposure(case: Case, day: str | None = None) -> list[dict[str, Any]]:
    """Team totals for one UTC day (default today), one row per user:
    {"name", "role", "reveals", "reveal_seconds", "review_minutes"}."""
    day = day or datetime.now(UTC).strftime("%Y-%m-%d")
    R, RD = m.REVEALS, m.REVIEW_DAYS
    with case.engine.connect() as conn:
        users = conn.execute(select(U.c.id, U.c.name, U.c.role).order_by(U.c.name)).all()
        reveals = {
            r.user_id: (r.n, r.s or 0)
            for r in conn.execute(
                select(R.c.user_id, func.count().label("n"), func.sum(R.c.seconds).label("s"))
                .where(R.c.day == day)
                .group_by(R.c.user_id)
            )
        }
        active = dict(
            conn.execute(select(RD.c.user_id, RD.c.active_seconds).where(RD.c.day == day)).all()
        )
    return [
        {
            "name": u.name,
            "role": u.role,
            "reveals": reveals.get(u.id, (0, 0))[0],
            "reveal_seconds": int(reveals.get(u.id, (0, 0))[1]),
            "review_minutes": round(active.get(u.id, 0) / 60, 1),
        }
        for u in users
    ]

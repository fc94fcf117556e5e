"""Sessions, CSRF and role checks for the web UI.

The session cookie (`__Host-perisai`: Secure, HttpOnly, SameSite=Strict, path /) holds 32
random bytes; the database keeps only HMAC-SHA256 of it under the case purpose key
"web-session", with the session's CSRF token and expiry. Every route except the login page
and static files depends on `Require(roles...)`, which checks the session, the role and, for
every method other than GET/HEAD, the CSRF token sent in the form field `csrf`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlalchemy import delete, insert, select
from starlette.concurrency import run_in_threadpool

from ..case import Case
from ..store import models as m

COOKIE = "__Host-perisai"
LOGIN_COOKIE = "__Host-perisai-login"  # double-submit CSRF token for the login form
SESSION_HOURS = 8
ADMIN, INVESTIGATOR, CASEWORKER, VIEWER = "admin", "investigator", "caseworker", "viewer"
S, U = m.WEB_SESSIONS, m.WEB_USERS


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    csrf: str


class NotLoggedIn(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, why: str = "your role may not see this page") -> None:
        super().__init__(why)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def token_hash(case: Case, token: str) -> str:
    key = case.keys.purpose("web-session")
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


def new_session(case: Case, user_id: int) -> str:
    """A fresh session for the user; returns the cookie token."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with case.engine.begin() as conn:
        conn.execute(delete(S).where(S.c.expires_utc < _iso(now)))
        conn.execute(
            insert(S).values(
                token_hash=token_hash(case, token),
                user_id=user_id,
                csrf=secrets.token_urlsafe(32),
                created_utc=_iso(now),
                expires_utc=_iso(now + timedelta(hours=SESSION_HOURS)),
            )
        )
    return token


def lookup(case: Case, token: str | None) -> User | None:
    if not token or len(token) > 100:
        return None
    with case.engine.connect() as conn:
        row = conn.execute(
            select(U.c.id, U.c.name, U.c.role, U.c.disabled, S.c.csrf, S.c.expires_utc)
            .join(U, U.c.id == S.c.user_id)
            .where(S.c.token_hash == token_hash(case, token))
        ).first()
    if row is None or row.disabled or row.expires_utc <= _iso(datetime.now(UTC)):
        return None
    return User(row.id, row.name, row.role, row.csrf)


def end_session(case: Case, token: str | None) -> None:
    if token:
        with case.engine.begin() as conn:
            conn.execute(delete(S).where(S.c.token_hash == token_hash(case, token)))


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Require:
    """Dependency: the logged-in user, when their role is one of `roles` (and, on a POST, the
    CSRF token matches). Raises NotLoggedIn or Forbidden."""

    def __init__(self, *roles: str) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, request: Request) -> User:
        case: Case = request.app.state.case
        # A database round trip: keep it off the event loop.
        user = await run_in_threadpool(lookup, case, request.cookies.get(COOKIE))
        if user is None:
            raise NotLoggedIn()
        if user.role not in self.roles:
            raise Forbidden()
        if request.method not in ("GET", "HEAD"):
            form = await request.form()
            sent = form.get("csrf")
            if not same(sent if isinstance(sent, str) else None, user.csrf):
                raise Forbidden("the form's security token is missing or stale: reload the page")
        request.state.user = user
        return user


ANY = Require(ADMIN, INVESTIGATOR, CASEWORKER, VIEWER)
REVIEW = Require(ADMIN, INVESTIGATOR)
PEOPLE = Require(ADMIN, CASEWORKER)
REPORTS = Require(ADMIN, INVESTIGATOR, CASEWORKER)
ADMINS = Require(ADMIN)

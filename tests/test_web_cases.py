"""Shared web-UI test case (a triaged synthetic case plus hostile messages), and account tests.

Other tests/test_web_*.py modules import `build_case`, `login` and `PASSWORD` from here.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from perisai.case import Case
from perisai.errors import BadInput
from perisai.hashlists import import_list
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.store import models as m
from perisai.synth import synth
from perisai.users import (
    LoginRefused,
    add_user,
    authenticate,
    list_users,
    set_disabled,
    set_password,
)

from helpers import msg, run_cli, write_export

PASSWORD = "correct horse battery"
HOSTILE = [
    "<script>alert('pwned')</script> tengok ni",
    '<img src=x onerror="alert(1)"> gambar',
    "nama fail \u202egpj.exe sila klik https://t.me/joinchat/AAAAevil",
]
# Links in message text that must never become live (only /out warning links may appear).
HOSTILE_LINKS = [
    "klik javascript:alert(document.cookie) sekarang",
    "JaVaScRiPt:alert(4) juga",
    "data:text/html,<script>alert(1)</script>",
    'lihat https://evil.example/"><script>alert(2)</script>',
    "https://evil.example/a'onmouseover='alert(3)' ok",
    "bot tg://resolve?domain=evil_bot dan t.me/evilchannel.",
]
ROLE_USERS = {"admin": "sup1", "investigator": "inv1", "caseworker": "cw1", "viewer": "vw1"}


def build_case(root: Path) -> dict[str, Any]:
    """A case with 16 synthetic photos (reposts among them), an ncii list holding one original
    with reposts, a csam list holding another (its cluster is quarantined), a second export
    with 3 synthetic videos (one reposted), hostile messages and links, and one account per
    role. Returns {"case", "ncii", "csam", "export", "videos"}: list shas are the listed
    originals' SHA-256; "videos" is the video export's folder."""
    synth(root / "export", messages=200, photos=16, seed=7)
    synth(root / "videos", messages=60, photos=0, videos=3, seed=11)
    write_export(
        root / "hostile",
        [msg(i + 1, text) for i, text in enumerate(HOSTILE + HOSTILE_LINKS)],
        name="<b>Evil</b> group",
        id=1500000999,
    )
    case = Case.open(root / "case")
    ingest(case, root / "export")
    ingest(case, root / "hostile")
    ingest(case, root / "videos")
    triage(case, workers=1, only="hash,group")
    truth = json.loads((root / "export" / "ground_truth.json").read_text())
    media = [x for x in truth["media"] if x.get("path") and x["kind"] == "photo"]
    derived = {x["derived_from"] for x in media if x.get("derived_from")}
    by_path = {x["path"]: x["sha256"] for x in media}
    with case.engine.connect() as conn:
        pdq = dict(
            conn.execute(
                select(m.MEDIA_FILES.c.sha256, m.MEDIA_ANALYSIS.c.pdq).join(
                    m.MEDIA_ANALYSIS, m.MEDIA_ANALYSIS.c.media_id == m.MEDIA_FILES.c.id
                )
            ).all()
        )
    originals = sorted(p for p in derived if by_path.get(p) in pdq)
    ncii, csam = by_path[originals[0]], by_path[originals[-1]]
    (root / "ncii.txt").write_text(f"pdq {pdq[ncii]}\n")
    (root / "csam.txt").write_text(f"pdq {pdq[csam]}\n")
    import_list(case, root / "ncii.txt", "ncii-hotline", "ncii")
    import_list(case, root / "csam.txt", "hotline-csam", "csam")
    triage(case, workers=1, only="match,preview,text,dox")
    for role, name in ROLE_USERS.items():
        add_user(case, name, role, PASSWORD, who="setup")
    return {
        "case": case,
        "ncii": ncii,
        "csam": csam,
        "export": root / "export",
        "videos": root / "videos",
    }


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def login(client: Any, name: str, password: str = PASSWORD) -> str:
    """Log the TestClient in; returns the session's CSRF token."""
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"name": name, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/").text)


@pytest.fixture
def case(tmp_path):
    return Case.open(tmp_path / "case")


def test_add_user_checks_and_logs(case):
    add_user(case, "anon-7", "investigator", PASSWORD, who="admin-x")
    with pytest.raises(BadInput, match="already exists"):
        add_user(case, "anon-7", "viewer", PASSWORD)
    with pytest.raises(BadInput, match="unknown role"):
        add_user(case, "anon-8", "god", PASSWORD)
    with pytest.raises(BadInput, match="too short"):
        add_user(case, "anon-8", "viewer", "short")
    with pytest.raises(BadInput, match="user name"):
        add_user(case, "<b>x</b>", "viewer", PASSWORD)
    assert [(u["name"], u["role"]) for u in list_users(case)] == [("anon-7", "investigator")]
    with case.engine.connect() as conn:
        stored = conn.execute(select(m.WEB_USERS.c.password_hash)).scalar_one()
        event = conn.execute(
            select(m.CUSTODY.c.actor, m.CUSTODY.c.body).where(m.CUSTODY.c.action == "user.add")
        ).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert event.actor == "admin-x" and json.loads(event.body) == {
        "name": "anon-7",
        "role": "investigator",
    }


def test_lockout_after_failures_even_with_the_right_password(case):
    add_user(case, "anon-9", "viewer", PASSWORD)
    assert authenticate(case, "anon-9", PASSWORD, "10.0.0.1")["role"] == "viewer"
    for _ in range(5):
        with pytest.raises(LoginRefused, match="wrong name or password"):
            authenticate(case, "anon-9", "guess", "10.0.0.2")
    with pytest.raises(LoginRefused, match="locked"):
        authenticate(case, "anon-9", PASSWORD, "10.0.0.1")
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert authenticate(case, "anon-9", PASSWORD, "10.0.0.1", now=later)["name"] == "anon-9"
    with case.engine.connect() as conn:
        actions = list(conn.execute(select(m.CUSTODY.c.action)).scalars())
    assert "user.lockout" in actions


def test_rate_limit_per_client(case, monkeypatch):
    import perisai.users as users

    monkeypatch.setattr(users, "MAX_ATTEMPTS_PER_CLIENT", 3)
    add_user(case, "anon-10", "viewer", PASSWORD)
    for _ in range(3):
        with pytest.raises(LoginRefused):
            authenticate(case, "nobody", "x", "10.9.9.9")
    with pytest.raises(LoginRefused, match="too many"):
        authenticate(case, "anon-10", PASSWORD, "10.9.9.9")
    assert authenticate(case, "anon-10", PASSWORD, "10.9.9.8")["name"] == "anon-10"


def test_cli_user_add_reads_the_password_from_the_environment(tmp_path):
    Case.open(tmp_path / "case").close()
    r = run_cli(
        "user",
        "add",
        str(tmp_path / "case"),
        "anon-1",
        "--role",
        "caseworker",
        "--json",
        env={"PERISAI_USER_PASSWORD": PASSWORD},
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["role"] == "caseworker"
    r = run_cli(
        "user",
        "add",
        str(tmp_path / "case"),
        "anon-2",
        "--role",
        "viewer",
        env={"PERISAI_USER_PASSWORD": ""},
    )
    assert r.returncode == 2 and "PERISAI_USER_PASSWORD" in r.stderr
    r = run_cli("user", "budget", str(tmp_path / "case"), "--reveals", "3", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"reveals": 3, "minutes": 120}
    c = Case.open(tmp_path / "case")
    assert authenticate(c, "anon-1", PASSWORD, "127.0.0.1")["role"] == "caseworker"


def _actions(case):
    with case.engine.connect() as conn:
        return [
            (r.action, r.actor, json.loads(r.body))
            for r in conn.execute(select(m.CUSTODY.c.action, m.CUSTODY.c.actor, m.CUSTODY.c.body))
        ]


def test_disable_ends_sessions_and_refuses_logins_until_enabled(case):
    from perisai.web.auth import lookup, new_session

    add_user(case, "boss", "admin", PASSWORD)
    add_user(case, "anon-d", "investigator", PASSWORD)
    uid = authenticate(case, "anon-d", PASSWORD, "10.0.0.1")["id"]
    tokens = [new_session(case, uid), new_session(case, uid)]
    assert all(lookup(case, t) for t in tokens)
    result = set_disabled(case, "anon-d", True, who="boss")
    assert result == {
        "name": "anon-d",
        "role": "investigator",
        "disabled": True,
        "sessions_ended": 2,
    }
    assert not any(lookup(case, t) for t in tokens)
    with case.engine.connect() as conn:
        assert not conn.execute(
            select(m.WEB_SESSIONS.c.token_hash).where(m.WEB_SESSIONS.c.user_id == uid)
        ).first()
    with pytest.raises(LoginRefused, match="wrong name or password"):
        authenticate(case, "anon-d", PASSWORD, "10.0.0.1")
    assert next(u for u in list_users(case) if u["name"] == "anon-d")["disabled"]
    set_disabled(case, "anon-d", False, who="boss")
    assert authenticate(case, "anon-d", PASSWORD, "10.0.0.1")["name"] == "anon-d"
    events = [(a, who, b) for a, who, b in _actions(case) if a.startswith("user.")]
    assert ("user.disable", "boss", {"name": "anon-d", "sessions_ended": 2}) in events
    assert ("user.enable", "boss", {"name": "anon-d", "sessions_ended": 0}) in events
    # The last enabled admin cannot be disabled (nobody could manage accounts any more).
    with pytest.raises(BadInput, match="last enabled admin"):
        set_disabled(case, "boss", True)
    add_user(case, "boss2", "admin", PASSWORD)
    assert set_disabled(case, "boss", True)["disabled"]
    with pytest.raises(BadInput, match="no user"):
        set_disabled(case, "nobody", True)


def test_set_password_replaces_the_hash_ends_sessions_and_clears_lockout(case):
    from perisai.web.auth import lookup, new_session

    add_user(case, "anon-p", "caseworker", PASSWORD)
    uid = authenticate(case, "anon-p", PASSWORD, "10.0.0.1")["id"]
    token = new_session(case, uid)
    for _ in range(5):
        with pytest.raises(LoginRefused):
            authenticate(case, "anon-p", "guess", "10.0.0.3")
    with pytest.raises(LoginRefused, match="locked"):
        authenticate(case, "anon-p", PASSWORD, "10.0.0.1")
    with pytest.raises(BadInput, match="too short"):
        set_password(case, "anon-p", "short")
    new = "a different long passphrase"
    assert set_password(case, "anon-p", new, who="boss") == {
        "name": "anon-p",
        "sessions_ended": 1,
    }
    assert lookup(case, token) is None
    with pytest.raises(LoginRefused, match="wrong name or password"):
        authenticate(case, "anon-p", PASSWORD, "10.0.0.1")
    assert authenticate(case, "anon-p", new, "10.0.0.1")["name"] == "anon-p"
    with case.engine.connect() as conn:
        stored = conn.execute(
            select(m.WEB_USERS.c.password_hash).where(m.WEB_USERS.c.name == "anon-p")
        ).scalar_one()
    assert stored.startswith("$argon2id$") and new not in stored
    events = [(a, b) for a, _, b in _actions(case) if a == "user.passwd"]
    assert events == [("user.passwd", {"name": "anon-p", "sessions_ended": 1})]
    assert new not in json.dumps(_actions(case))
    with pytest.raises(BadInput, match="no user"):
        set_password(case, "nobody", new)


def test_cli_user_disable_enable_passwd(tmp_path):
    c = Case.open(tmp_path / "case")
    add_user(c, "anon-a", "admin", PASSWORD)
    add_user(c, "anon-c", "investigator", PASSWORD)
    c.close()
    where = str(tmp_path / "case")
    r = run_cli("user", "disable", where, "anon-c", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["disabled"] is True
    r = run_cli("user", "list", where)
    assert "anon-c\tinvestigator\tdisabled" in r.stdout
    r = run_cli("user", "disable", where, "anon-a")
    assert r.returncode == 2 and "last enabled admin" in r.stderr
    r = run_cli("user", "enable", where, "anon-c")
    assert r.returncode == 0 and "enabled anon-c" in r.stdout
    new = "another long password"
    r = run_cli("user", "passwd", where, "anon-c", env={"PERISAI_USER_PASSWORD": new})
    assert r.returncode == 0, r.stderr
    r = run_cli("user", "passwd", where, "ghost", env={"PERISAI_USER_PASSWORD": new})
    assert r.returncode == 2 and "no user" in r.stderr
    c = Case.open(tmp_path / "case")
    assert authenticate(c, "anon-c", new, "127.0.0.1")["name"] == "anon-c"
    with pytest.raises(LoginRefused):
        authenticate(c, "anon-c", PASSWORD, "127.0.0.1")


def test_admin_page_disables_and_sets_passwords_ending_sessions_at_once(case):
    from fastapi.testclient import TestClient

    from perisai.web.app import create_app

    add_user(case, "boss", "admin", PASSWORD)
    add_user(case, "anon-w", "investigator", PASSWORD)
    app = create_app(case)
    admin = TestClient(app, base_url="https://testserver")
    csrf = login(admin, "boss")
    worker = TestClient(app, base_url="https://testserver")
    login(worker, "anon-w")
    assert worker.get("/review").status_code == 200
    page = admin.get("/admin").text
    assert 'action="/admin/users/anon-w/disable"' in page
    r = admin.post("/admin/users/anon-w/disable", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    # The very next request of the disabled user is logged out.
    r = worker.get("/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = admin.get("/admin").text
    assert 'action="/admin/users/anon-w/enable"' in page
    assert admin.post("/admin/users/anon-w/enable", data={"csrf": csrf}).status_code == 200
    login(worker, "anon-w")
    new = "the new long password"
    r = admin.post(
        "/admin/users/anon-w/password",
        data={"csrf": csrf, "password": new},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert worker.get("/review", follow_redirects=False).status_code == 303
    login(worker, "anon-w", new)
    bad = admin.post("/admin/users/anon-w/password", data={"csrf": csrf, "password": "x"})
    assert bad.status_code == 400 and "too short" in bad.text
    assert admin.post("/admin/users/boss/disable", data={"csrf": csrf}).status_code == 400
    assert admin.post("/admin/users/ghost/disable", data={"csrf": csrf}).status_code == 400
    # Without the CSRF token nothing changes.
    assert admin.post("/admin/users/anon-w/disable").status_code == 403
    assert not next(u for u in list_users(case) if u["name"] == "anon-w")["disabled"]


def test_accounts_and_sessions_on_postgres(tmp_path, pg_url):
    from fastapi.testclient import TestClient

    from perisai.web.app import create_app

    case = Case.open(tmp_path / "case", db=pg_url)
    assert case.engine.dialect.name == "postgresql"
    add_user(case, "boss", "admin", PASSWORD)
    add_user(case, "anon-g", "investigator", PASSWORD)
    app = create_app(case)
    worker = TestClient(app, base_url="https://testserver")
    login(worker, "anon-g")
    assert worker.get("/review").status_code == 200
    with pytest.raises(BadInput, match="last enabled admin"):
        set_disabled(case, "boss", True)
    assert set_disabled(case, "anon-g", True, who="boss")["sessions_ended"] == 1
    assert worker.get("/review", follow_redirects=False).status_code == 303
    set_disabled(case, "anon-g", False, who="boss")
    login(worker, "anon-g")
    new = "a postgres long password"
    assert set_password(case, "anon-g", new, who="boss")["sessions_ended"] == 1
    assert worker.get("/review", follow_redirects=False).status_code == 303
    login(worker, "anon-g", new)
    case.close()

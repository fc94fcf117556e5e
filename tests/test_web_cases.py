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
from perisai.users import LoginRefused, add_user, authenticate, list_users

from helpers import msg, run_cli, write_export

PASSWORD = "correct horse battery"
HOSTILE = [
    "<script>alert('pwned')</script> tengok ni",
    '<img src=x onerror="alert(1)"> gambar',
    "nama fail \u202egpj.exe sila klik https://t.me/joinchat/AAAAevil",
]
ROLE_USERS = {"admin": "sup1", "investigator": "inv1", "caseworker": "cw1", "viewer": "vw1"}


def build_case(root: Path) -> dict[str, Any]:
    """A case with 16 synthetic photos (reposts among them), an ncii list holding one original
    with reposts, a csam list holding another (its cluster is quarantined), hostile messages,
    and one account per role. Returns {"case", "ncii", "csam", "export"}: list shas are the
    listed originals' SHA-256."""
    synth(root / "export", messages=200, photos=16, seed=7)
    write_export(
        root / "hostile",
        [msg(i + 1, text) for i, text in enumerate(HOSTILE)],
        name="<b>Evil</b> group",
        id=1500000999,
    )
    case = Case.open(root / "case")
    ingest(case, root / "export")
    ingest(case, root / "hostile")
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
    return {"case": case, "ncii": ncii, "csam": csam, "export": root / "export"}


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

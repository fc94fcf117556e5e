"""Web review: queue by severity, reveal accounting and budget, breaks, decisions, people pages."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from test_web_cases import HOSTILE, HOSTILE_LINKS, PASSWORD, build_case, login

from perisai.decisions import decision_for
from perisai.store import models as m
from perisai.users import add_user, set_budget
from perisai.web import review as rv
from perisai.web.app import create_app


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    try:
        b = build_case(tmp_path_factory.mktemp("web"))
    finally:
        mp.undo()
    b["app"] = create_app(b["case"])
    return b


def session(built, name, role="investigator"):
    if not any(u for u in _users(built) if u == name):
        add_user(built["case"], name, role, PASSWORD)
    c = TestClient(built["app"], base_url="https://testserver")
    return c, login(c, name)


def _users(built):
    with built["case"].engine.connect() as conn:
        return list(conn.execute(select(m.WEB_USERS.c.name)).scalars())


def _reveal_events(built):
    with built["case"].engine.connect() as conn:
        rows = conn.execute(
            select(m.CUSTODY.c.actor, m.CUSTODY.c.body).where(m.CUSTODY.c.action == "media.reveal")
        ).all()
    return [(r.actor, json.loads(r.body)) for r in rows]


def test_queue_is_ordered_by_severity_and_described_in_words(built):
    items = rv.clusters(built["case"])
    severities = [c["severity"] for c in items if c["decision"] is None]
    assert severities == sorted(severities, reverse=True)
    top = items[0]
    assert top["blocked"] and {x["category"] for x in top["matches"]} == {"csam"}
    assert not top["has_preview"]
    ncii = next(c for c in items if c["sha256"] == built["ncii"])
    assert ncii is items[1] and ncii["members"] >= 2 and ncii["has_preview"]
    assert ncii["first_poster"] != "unknown" and ncii["chats"]
    c, _ = session(built, "inv-q")
    page = c.get("/review").text
    assert "ncii-hotline (ncii, pdq, distance 0)" in page
    assert "No preview and no reveal" in page
    assert page.index(built["csam"]) < page.index(built["ncii"])
    item = c.get(f"/review/{built['ncii']}").text
    # Words first, then the blurred preview.
    assert item.index("Hash-list matches") < item.index(f"/media/{built['ncii']}/preview.jpg")
    pic = Image.open(io.BytesIO(c.get(f"/media/{built['ncii']}/preview.jpg").content))
    assert pic.mode == "L" and max(pic.size) <= 256


def test_reveal_is_logged_counted_and_private_to_the_reviewer(built):
    c, csrf = session(built, "inv-r")
    before = rv.meter(built["case"], _uid(built, "inv-r"))
    r = c.post(f"/review/{built['ncii']}/reveal", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert 'id="reveal-img"' in page.text and 'http-equiv="refresh"' in page.text
    assert f'<b id="reveals-used">{before["reveals_used"] + 1}</b>' in page.text
    src = page.text.split('id="reveal-img" src="')[1].split('"')[0]
    shown = c.get(src)
    assert shown.status_code == 200 and shown.headers["cache-control"].startswith("no-store")
    im = Image.open(io.BytesIO(shown.content))
    assert im.mode == "L" and max(im.size) <= rv.REVEAL_SIZE
    original = built["case"].vault.read(built["ncii"])
    assert shown.content != original and shown.content[:4096] not in original
    after = rv.meter(built["case"], _uid(built, "inv-r"))
    assert after["reveals_used"] == before["reveals_used"] + 1
    assert after["reveals_left"] == before["reveals_left"] - 1
    events = [b for actor, b in _reveal_events(built) if actor == "inv-r"]
    assert events[-1]["sha256"] == built["ncii"] and events[-1]["user"] == "inv-r"
    assert events[-1]["seconds"] == rv.REVEAL_SECONDS
    # Another reviewer changing the id in the URL sees nothing.
    other, _ = session(built, "inv-s")
    assert other.get(src).status_code == 404
    team = session(built, "sup1", "admin")[0].get("/admin").text
    assert "inv-r" in team


def _uid(built, name):
    with built["case"].engine.connect() as conn:
        return conn.execute(select(m.WEB_USERS.c.id).where(m.WEB_USERS.c.name == name)).scalar()


def test_reveal_expires(built, monkeypatch):
    monkeypatch.setattr(rv, "REVEAL_SECONDS", 0)
    c, csrf = session(built, "inv-e")
    r = c.post(f"/review/{built['ncii']}/reveal", data={"csrf": csrf}, follow_redirects=False)
    reveal_id = r.headers["location"].split("reveal=")[1]
    assert c.get(f"/reveal/{reveal_id}.jpg").status_code == 404
    assert 'id="reveal-img"' not in c.get(r.headers["location"]).text


def test_budget_stops_reveals_then_the_whole_review(built):
    case = built["case"]
    c, csrf = session(built, "inv-b")
    set_budget(case, reveals=1, minutes=120)
    try:
        url = f"/review/{built['ncii']}/reveal"
        assert c.post(url, data={"csrf": csrf}, follow_redirects=False).status_code == 303
        r = c.post(url, data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 403 and "reveals for today are used up" in r.text
        assert len([a for a, _ in _reveal_events(built) if a == "inv-b"]) == 1
        assert "disabled" in c.get(f"/review/{built['ncii']}").text.split('id="reveal-btn"')[1][:40]
        set_budget(case, minutes=0)
        stop = c.get("/review")
        assert stop.status_code == 403 and 'id="budget-stop"' in stop.text
        assert c.get(f"/review/{built['ncii']}").status_code == 403
        assert c.get(f"/media/{built['ncii']}/preview.jpg").status_code == 404
        set_budget(case, reveals=20)  # reveals left, but no review time left
        r = c.post(url, data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 403 and "review time for today is used up" in r.text
        assert len([a for a, _ in _reveal_events(built) if a == "inv-b"]) == 1
    finally:
        set_budget(case, reveals=20, minutes=120)
    assert c.get("/review").status_code == 200


def test_break_prompt_after_an_hour_of_review(built, monkeypatch):
    # Review time is counted per UTC day: freeze the review clock at midday, so the test does
    # not depend on when it runs (70 minutes before 00:30 would fall on yesterday).
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return noon if tz is not None else noon.replace(tzinfo=None)

    monkeypatch.setattr(rv, "datetime", Clock)
    case = built["case"]
    c, csrf = session(built, "inv-h")
    uid = _uid(built, "inv-h")
    start = noon - timedelta(minutes=70)
    for minute in range(0, 70, 4):  # a request every 4 minutes for 70 minutes
        rv.touch_review(case, uid, start + timedelta(minutes=minute))
    state = rv.meter(case, uid)
    assert state["break_due"] and state["minutes_used"] >= 60
    assert 'id="break-prompt"' in c.get("/review").text
    c.post("/wellbeing/break", data={"csrf": csrf})
    assert not rv.meter(case, uid)["break_due"]
    assert 'id="break-prompt"' not in c.get("/review").text
    # A long pause is a break too.
    rv.touch_review(case, uid, noon + timedelta(minutes=20))
    assert not rv.meter(case, uid, noon + timedelta(minutes=20))["break_due"]


def test_decision_applies_to_the_whole_cluster_and_csam_blocks_it(built):
    case = built["case"]
    c, csrf = session(built, "inv-d")
    target = next(
        c
        for c in rv.clusters(case)
        if c["members"] >= 2
        and c["kind"] == "image"
        and not c["blocked"]
        and c["sha256"] != built["ncii"]
    )
    r = c.post(
        f"/review/{target['sha256']}/decide",
        data={"csrf": csrf, "category": "voyeur", "note": "<b>seen</b>"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with case.engine.connect() as conn:
        cid = conn.execute(
            select(m.CLUSTER_MEMBERS.c.cluster_id)
            .join(m.MEDIA_FILES, m.MEDIA_FILES.c.id == m.CLUSTER_MEMBERS.c.media_id)
            .where(m.MEDIA_FILES.c.sha256 == target["sha256"])
        ).scalar()
        members = (
            conn.execute(
                select(m.MEDIA_FILES.c.sha256)
                .join(m.CLUSTER_MEMBERS, m.CLUSTER_MEMBERS.c.media_id == m.MEDIA_FILES.c.id)
                .where(m.CLUSTER_MEMBERS.c.cluster_id == cid)
            )
            .scalars()
            .all()
        )
    assert len(members) >= 2
    for sha in members:
        d = decision_for(case, sha)
        assert d and d["category"] == "voyeur" and d["investigator"] == "inv-d"
    assert "&lt;b&gt;seen&lt;/b&gt;" in c.get(f"/review/{target['sha256']}").text
    assert c.get(f"/media/{target['sha256']}/preview.jpg").status_code == 200
    c.post(f"/review/{target['sha256']}/decide", data={"csrf": csrf, "category": "csam"})
    assert c.get(f"/media/{target['sha256']}/preview.jpg").status_code == 404
    r = c.post(f"/review/{target['sha256']}/reveal", data={"csrf": csrf})
    assert r.status_code == 403
    assert (
        c.post(
            f"/review/{target['sha256']}/decide", data={"csrf": csrf, "category": "porn"}
        ).status_code
        == 400
    )


def test_caseworker_marks_a_person_contacted_and_downloads_the_victims_report(built):
    from perisai.analysis.atrisk import at_risk

    c, csrf = session(built, "cw1", "caseworker")
    people = at_risk(built["case"])
    assert people, "the synthetic case has doxes, so the register is not empty"
    first = people[0]
    page = c.get("/atrisk").text
    assert f'id="p{first["id"]}"' in page
    r = c.post(
        f"/atrisk/{first['id']}/status",
        data={"csrf": csrf, "status": "contacted", "note": "called <her>"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert next(p for p in at_risk(built["case"]) if p["id"] == first["id"])["status"] == (
        "contacted"
    )
    assert "called &lt;her&gt;" in c.get("/atrisk").text
    assert c.get("/victims").status_code == 200
    report = c.post("/reports/victims", data={"csrf": csrf, "fmt": "html"})
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "attachment" in report.headers["content-disposition"]
    assert c.post("/reports/police", data={"csrf": csrf}).status_code == 403
    with built["case"].engine.connect() as conn:
        actors = (
            conn.execute(
                select(m.CUSTODY.c.actor).where(
                    m.CUSTODY.c.action.in_(("atrisk.status", "report.write"))
                )
            )
            .scalars()
            .all()
        )
    assert actors.count("cw1") >= 2


def test_investigator_offenders_and_police_report(built):
    c, csrf = session(built, "inv-o")
    assert c.get("/offenders").status_code == 200
    r = c.post("/reports/police", data={"csrf": csrf, "fmt": "html"})
    assert r.status_code == 200 and b"<html" in r.content[:500].lower()


def test_admin_sets_the_budget_and_adds_accounts(built):
    c, csrf = session(built, "sup1", "admin")
    r = c.post(
        "/admin/budget",
        data={"csrf": csrf, "reveals": "7", "minutes": "90"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    try:
        page = c.get("/admin").text
        assert 'value="7"' in page and 'value="90"' in page
        r = c.post(
            "/admin/users",
            data={"csrf": csrf, "name": "new-cw", "role": "caseworker", "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303 and "new-cw" in c.get("/admin").text
        bad = c.post(
            "/admin/users", data={"csrf": csrf, "name": "x", "role": "root", "password": PASSWORD}
        )
        assert bad.status_code == 400
    finally:
        set_budget(built["case"], reveals=20, minutes=120)


def test_network_pages_draw_escaped_svg(built):
    c, _ = session(built, "inv-n")
    for kind in ("recruitment", "chats"):
        r = c.get("/network", params={"kind": kind})
        assert r.status_code == 200
        assert "<b>Evil" not in r.text and "<script" not in r.text.lower()
    chats = c.get("/network", params={"kind": "chats"}).text
    assert '<svg id="graph"' in chats or "No edges" in chats


def test_message_timeline_per_chat(built):
    c, _ = session(built, "inv-t")
    with built["case"].engine.connect() as conn:
        hostile = conn.execute(
            select(m.CHATS.c.id).where(m.CHATS.c.name == "<b>Evil</b> group")
        ).scalar_one()
    page = c.get("/messages", params={"chat": hostile}).text
    n = len(HOSTILE + HOSTILE_LINKS)
    assert f"<p>{n} messages." in page and "tengok ni" in page
    assert "&lt;b&gt;Evil&lt;/b&gt; group" in page
    everything = c.get("/messages").text
    assert f"<p>{n} messages." not in everything

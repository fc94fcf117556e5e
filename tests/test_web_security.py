"""Web UI security: every route checks login and role, CSRF, hostile text, quarantined bytes."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_web_cases import HOSTILE, PASSWORD, ROLE_USERS, build_case, csrf_of, login

from perisai.store import models as m
from perisai.web import review as rv
from perisai.web.app import create_app, routers
from perisai.web.auth import Require

PUBLIC = {("/login", "GET"), ("/login", "POST")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    mp = pytest.MonkeyPatch()
    mp.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    try:
        b = build_case(root)
    finally:
        mp.undo()
    b["app"] = create_app(b["case"])
    return b


@pytest.fixture(scope="module")
def sessions(built):
    """One logged-in client per role: {role: (client, csrf)}."""
    out = {}
    for role, name in ROLE_USERS.items():
        c = client(built)
        out[role] = (c, login(c, name))
    return out


def client(built):
    return TestClient(built["app"], base_url="https://testserver")


def _routes(app):
    # Routes come only from routers(): the app holds those routers and the static mount.
    assert len(app.routes) == len(routers()) + 1
    for router in routers():
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in route.methods:
                yield route, method


def _roles(route):
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Require)]
    return found[0].roles if found else None


def _path(route, built):
    values = {
        "sha": built["ncii"],
        "person_id": "1",
        "reveal_id": "1",
        "kind": "police",
        "name": "vw1",
    }
    return re.sub(r"\{(\w+)\}", lambda g: values[g.group(1)], route.path)


def test_every_route_refuses_anonymous_and_wrong_role_users(built, sessions):
    app = built["app"]
    checked = 0
    for route, method in _routes(app):
        roles = _roles(route)
        if (route.path, method) in PUBLIC:
            assert roles is None
            continue
        assert roles, f"{method} {route.path} has no role check"
        url = _path(route, built)
        anon = client(built)
        r = anon.request(method, url, follow_redirects=False)
        if method == "GET":
            assert r.status_code == 303 and r.headers["location"] == "/login", url
        else:
            assert r.status_code == 403, url
        for role, name in ROLE_USERS.items():
            if role in roles:
                continue
            c, csrf = sessions[role]
            data = {"csrf": csrf} if method == "POST" else None
            r = c.request(method, url, data=data, follow_redirects=False)
            assert r.status_code == 403, f"{role} reached {method} {url}"
            assert built["ncii"] not in r.text
            checked += 1
    assert checked >= 20


def test_roles_see_only_their_pages(built):
    c = client(built)
    login(c, "cw1")
    assert c.get("/atrisk").status_code == 200
    assert c.get("/review", follow_redirects=False).status_code == 403
    assert c.get(f"/media/{built['ncii']}/preview.jpg").status_code == 403
    home = c.get("/").text
    assert 'href="/review"' not in home and 'href="/atrisk"' in home
    v = client(built)
    login(v, "vw1")
    assert v.get("/").status_code == 200
    for url in ("/review", "/atrisk", "/victims", "/offenders", "/messages", "/admin"):
        assert v.get(url, follow_redirects=False).status_code == 403, url


def test_csrf_is_required_on_posts(built):
    c = client(built)
    csrf = login(c, "inv1")
    url = f"/review/{built['ncii']}/decide"
    count = select(func.count()).select_from(m.DECISIONS)
    with built["case"].engine.connect() as conn:
        before = conn.execute(count).scalar_one()
    assert c.post(url, data={"category": "benign"}).status_code == 403
    assert c.post(url, data={"category": "benign", "csrf": "x" * 43}).status_code == 403
    other = client(built)
    other_csrf = login(other, "sup1")
    assert c.post(url, data={"category": "benign", "csrf": other_csrf}).status_code == 403
    with built["case"].engine.connect() as conn:
        assert conn.execute(count).scalar_one() == before
    r = c.post(url, data={"category": "none", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    # The login form has its own double-submit token.
    fresh = client(built)
    fresh.get("/login")
    r = fresh.post("/login", data={"name": "inv1", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and "__Host-perisai=" not in r.headers.get("set-cookie", "")


def test_session_cookie_and_security_headers(built):
    c = client(built)
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"name": "inv1", "password": PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and "__Host-perisai=" in v]
    assert cookie, r.headers
    flags = cookie[0].lower()
    assert "httponly" in flags and "secure" in flags and "samesite=strict" in flags
    assert "path=/" in flags and "domain" not in flags
    home = c.get("/")
    csp = home.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert home.headers["x-frame-options"] == "DENY"
    assert home.headers["cache-control"] == "no-store"
    pic = c.get(f"/media/{built['ncii']}/preview.jpg")
    assert pic.status_code == 200 and pic.headers["cache-control"].startswith("no-store")
    # Logging out ends the session on the server, not only in the browser.
    token = c.cookies.get("__Host-perisai")
    c.post("/logout", data={"csrf": csrf_of(home.text)})
    stale = client(built)
    stale.cookies.set("__Host-perisai", token)
    assert stale.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_without_a_session(built):
    c = client(built)
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"name": "inv1", "password": "wrong", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 401 and "wrong name or password" in r.text
    assert c.get("/", follow_redirects=False).status_code == 303


def test_hostile_message_text_renders_inert(built):
    c = client(built)
    login(c, "inv1")
    pages = [c.get("/messages", params={"q": q}).text for q in ("script", "onerror", "klik")]
    body = "\n".join(pages)
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in body
    for page in pages + [c.get("/").text, c.get("/review").text, c.get("/offenders").text]:
        assert "<script" not in page.lower()
        assert "<img src=x" not in page
        assert not re.search(r"<[a-z]+[^<>]*\son[a-z]+\s*=", page, re.I)  # no event handlers
        assert "\u202e" not in page
        assert 'href="https://t.me' not in page and "href='https://t.me" not in page
    assert "\\u202egpj.exe" in body  # the RTL override is shown as a visible escape
    assert "https://t.me/joinchat/AAAAevil" in body  # shown as text, not a link
    assert "&lt;b&gt;Evil&lt;/b&gt; group" in body  # hostile chat names too
    assert all(h.split()[0] not in body for h in HOSTILE[:2])


def test_no_url_returns_a_quarantined_files_bytes(built):
    case = built["case"]
    with case.engine.connect() as conn:
        blocked = (
            conn.execute(
                select(m.MEDIA_FILES.c.sha256).where(m.MEDIA_FILES.c.vault_state != "stored")
            )
            .scalars()
            .all()
        )
    assert built["csam"] in blocked
    c = client(built)
    csrf = login(c, "sup1")
    originals = {p.read_bytes()[:4096] for p in built["export"].rglob("*.jpg")}
    csam_cluster = rv.cluster(case, rv.clusters(case)[0]["sha256"])
    assert csam_cluster and csam_cluster["blocked"]
    targets = set(blocked) | {csam_cluster["sha256"]}
    for sha in targets:
        assert c.get(f"/media/{sha}/preview.jpg").status_code == 404
        r = c.post(f"/review/{sha}/reveal", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code in (403, 404)
        page = c.get(f"/review/{sha}")
        assert "preview.jpg" not in page.text and "reveal-btn" not in page.text
    with case.engine.connect() as conn:
        assert not conn.execute(
            select(m.REVEALS.c.id).where(m.REVEALS.c.media_sha256.in_(targets))
        ).first()
    # Every GET route, with every blocked sha and reveal id, never answers with image bytes of
    # a blocked cluster (the previews of other clusters are blurred, never originals).
    for route, method in _routes(built["app"]):
        if method != "GET":
            continue
        for sha in targets:
            url = re.sub(r"\{sha\}", sha, route.path).replace("{reveal_id}", "1")
            url = re.sub(r"\{\w+\}", "1", url)
            r = c.get(url)
            assert r.headers.get("content-type", "").startswith("text/") or r.status_code >= 400
            assert not any(o in r.content for o in originals)

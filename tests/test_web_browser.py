"""Headless Chromium works the review UI end to end; screenshots go to test-artifacts/web/.

Needs Debian's `chromium` (/usr/bin/chromium) and the `playwright` Python package (never
`playwright install`); skipped with the reason when either is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from test_web_cases import PASSWORD, build_case

from perisai.store import models as m
from perisai.users import add_user, set_budget
from perisai.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists() and os.environ.get("PERISAI_REQUIRE_BROWSER"):
    raise RuntimeError("PERISAI_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    mp = pytest.MonkeyPatch()
    mp.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    try:
        built = build_case(tmp_path_factory.mktemp("web"))
    finally:
        mp.undo()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(built["case"]), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    built["url"] = f"http://127.0.0.1:{port}"
    yield built
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _login(page, url, name):
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def _shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_investigator_works_the_queue_reveals_and_hits_the_budget(server, browser):
    url, case = server["url"], server["case"]
    set_budget(case, reveals=2, minutes=120)
    context = browser.new_context()
    page = context.new_page()
    blocked = []
    page.on("console", lambda msg: blocked.append(msg.text) if msg.type == "error" else None)
    _login(page, url, "inv1")
    _shot(page, "01-summary")
    cookie = next(c for c in context.cookies() if c["name"] == "__Host-perisai")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    page.click("text=Review queue")
    assert "ncii-hotline" in page.content()
    _shot(page, "02-queue")
    page.goto(f"{url}/review/{server['ncii']}")
    preview = page.locator("#preview-img")
    assert preview.evaluate("img => img.complete && img.naturalWidth > 0")
    _shot(page, "03-cluster-blurred")
    assert page.locator("#reveals-used").inner_text() == "0"
    page.click("#reveal-btn")
    page.wait_for_selector("#reveal-img")
    assert page.locator("#reveal-img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#reveals-used").inner_text() == "1"
    _shot(page, "04-revealed")
    with case.engine.connect() as conn:
        events = conn.execute(
            select(m.CUSTODY.c.actor, m.CUSTODY.c.body).where(m.CUSTODY.c.action == "media.reveal")
        ).all()
    assert [(e.actor, json.loads(e.body)["sha256"]) for e in events] == [("inv1", server["ncii"])]
    page.goto(f"{url}/review/{server['ncii']}")
    page.click("#reveal-btn")
    page.wait_for_selector("#reveal-img")
    assert page.locator("#reveals-used").inner_text() == "2"
    page.goto(f"{url}/review/{server['ncii']}")
    assert page.locator("#reveal-btn").is_disabled()
    _shot(page, "05-budget-reached")
    # A quarantined (CSAM-matched) cluster: words only, no image element at all.
    page.goto(f"{url}/review/{server['csam']}")
    assert page.locator("img").count() == 0 and "No preview and no reveal" in page.content()
    # Decide the ncii cluster for the whole cluster.
    page.goto(f"{url}/review/{server['ncii']}")
    page.select_option("#category", "ncii")
    page.click("#decide-btn")
    page.wait_for_url(f"{url}/review")
    set_budget(case, reveals=20, minutes=0)
    page.goto(f"{url}/review")
    assert page.locator("#budget-stop").is_visible()
    _shot(page, "06-review-closed")
    set_budget(case, reveals=20, minutes=120)
    violations = [t for t in blocked if "Content Security Policy" in t or "Refused" in t]
    assert not violations, violations
    context.close()


def test_hostile_messages_are_inert_in_the_browser(server, browser):
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, server["url"], "inv1")
    page.goto(f"{server['url']}/messages?q=alert")
    _shot(page, "07-hostile-messages")
    assert page.locator("td.text img").count() == 0
    # Links in messages lead only to the warning page, never to their target.
    hrefs = page.locator("td.text a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert hrefs and all(h.startswith("/out?to=") for h in hrefs), hrefs
    assert "<script>alert('pwned')</script>" in page.locator("td.text").first.inner_text()
    page.goto(f"{server['url']}/messages?q=evil.example")
    page.locator("td.text a", has_text="https://evil.example/").first.click()
    page.wait_for_selector("#leave-warning")
    assert page.url.startswith(f"{server['url']}/out?to=")
    assert page.locator("#leave-url").inner_text() == "https://evil.example/"
    assert page.locator("#leave-continue").get_attribute("href") == "https://evil.example/"
    assert page.locator("#leave-continue").get_attribute("referrerpolicy") == "no-referrer"
    _shot(page, "13-link-warning")
    page.goto(f"{server['url']}/out?to=javascript:alert(document.cookie)")
    assert page.locator("#leave-continue").count() == 0
    assert page.locator("#leave-refused").is_visible()
    assert not dialogs
    page.close()


def test_caseworker_marks_contacted_and_downloads_a_report(server, browser):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    _login(page, server["url"], "cw1")
    page.click("text=At risk")
    row = page.locator("table.people tr[id^=p]").first
    row.locator("select[name=status]").select_option("contacted")
    row.locator("button").click()
    page.wait_for_load_state()
    assert (
        "contacted" in page.locator("table.people tr[id^=p]").first.locator(".status").inner_text()
    )
    _shot(page, "08-at-risk")
    page.click("text=Reports")
    with page.expect_download() as info:
        page.click("#report-victims")
    target = ARTIFACTS / "victims-report.html"
    info.value.save_as(str(target))
    assert b"<html" in target.read_bytes()[:500].lower()
    _shot(page, "09-reports")
    context.close()


def test_supervisor_sees_team_totals(server, browser):
    page = browser.new_page()
    _login(page, server["url"], "sup1")
    page.goto(f"{server['url']}/admin")
    team = page.locator("#team").inner_text()
    assert "inv1" in team and "2 / " in team
    _shot(page, "10-supervisor")
    page.goto(f"{server['url']}/network?kind=chats")
    assert page.locator("script").count() == 0
    _shot(page, "11-network-chats")
    page.goto(f"{server['url']}/network")
    _shot(page, "12-network-recruitment")
    page.close()


def test_video_keyframes_reveal_and_account_disabled(server, browser):
    from perisai.web import review as rv

    url, case = server["url"], server["case"]
    add_user(case, "inv-v", "investigator", PASSWORD)
    video = next(c for c in rv.clusters(case) if c["kind"] == "video" and not c["blocked"])[
        "sha256"
    ]
    context = browser.new_context()
    page = context.new_page()
    _login(page, url, "inv-v")
    page.goto(f"{url}/review/{video}")
    strip = page.locator("#keyframes-img")
    assert strip.evaluate("img => img.complete && img.naturalWidth > img.naturalHeight * 2")
    assert page.locator("video").count() == 0 and page.locator("audio").count() == 0
    _shot(page, "14-video-keyframes")
    page.click("#reveal-btn")
    page.wait_for_selector("#reveal-img")
    assert page.locator("#reveal-img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#reveals-used").inner_text() == "1"
    assert page.locator("video").count() == 0
    _shot(page, "15-video-revealed")
    # The supervisor disables the account: the reviewer's next page is the login page.
    admin = browser.new_context().new_page()
    _login(admin, url, "sup1")
    admin.goto(f"{url}/admin")
    admin.locator("#u-inv-v .disable-btn").click()
    admin.wait_for_url(f"{url}/admin")
    assert admin.locator("#u-inv-v .state").inner_text() == "disabled"
    _shot(admin, "16-accounts")
    page.goto(f"{url}/review")
    assert page.url == f"{url}/login"
    context.close()


def teardown_module():
    # Screenshots stay for CI to keep; nothing else is left behind.
    shutil.rmtree(ARTIFACTS / "tmp", ignore_errors=True)

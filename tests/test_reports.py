"""Reports: police, victims, takedown (HTML and PDF), VICS JSON and NCMEC XML.

One case holds a synthetic export and a crafted hostile chat whose name, sender name, group
title and messages carry HTML, script and an RTL override (U+202E). Every report must render
that text escaped and with the override shown as a visible escape.
"""

from __future__ import annotations

import hashlib
import io
import json
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from PIL import Image

from perisai import custody
from perisai.case import Case
from perisai.errors import BadInput
from perisai.hashlists import import_list
from perisai.ingest.telegram_export import ingest
from perisai.lists.vics import read_vics
from perisai.pipeline import triage
from perisai.reports import render
from perisai.reports.common import mask, neutralise
from perisai.reports.pdf import write_pdf
from perisai.synth import synth
from perisai.verify import verify

from helpers import msg, run_cli, write_export

RLO = "\u202e"
CHAT = f"<script>alert('chat')</script>{RLO}Geng Jahat"
SENDER = f"<img src=x onerror=alert(1)>{RLO}Abang"
TITLE = f"<b>renamed</b>{RLO}gpj.exe"
PHONE = "+60123456789"
DOX = (
    "<script>alert(1)</script> budak ni\nNama: Nur Aisyah binti Ali\nNo tel: 012-345 6789\n"
    "IC: 020905105438\nIG: @nur.aisyah.99\n"
    f"rumah dia No. 12, Jalan Mawar 3, Taman Melati, 53100 Kuala Lumpur {RLO}"
)
HOSTILE_STRINGS = ("<script>", "<img src=x", "<b>renamed", RLO)


def _image(seed: int) -> bytes:
    """A benign generated picture (noise + stripes), never anything real."""
    im = Image.effect_noise((320, 240), 40 + seed * 7).convert("RGB")
    for x in range(0, 320, 16 + seed):
        for y in range(240):
            im.putpixel((x, y), (200, 30 * seed % 255, 90))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def _hostile_export(root):
    (root / "photos").mkdir(parents=True)
    shas = []
    for i in (1, 2):
        data = _image(i)
        (root / "photos" / f"p{i}.jpg").write_bytes(data)
        shas.append(hashlib.sha256(data).hexdigest())
    sender = {"from": SENDER, "from_id": "user1001"}
    photo = {"width": 320, "height": 240}
    messages = [
        msg(1, text=DOX, **sender),
        msg(2, text="jual gambar dia, dm <i>x</i>", photo="photos/p1.jpg", **photo, **sender),
        msg(3, text="ni lagi", photo="photos/p2.jpg", **photo, **sender),
        msg(4, text="backup https://t.me/+AbCdEf12345 <img src=x onerror=alert(2)>", **sender),
        {
            "id": 5,
            "type": "service",
            "date": "2024-05-01T10:00:05",
            "date_unixtime": "1714528805",
            "actor": SENDER,
            "actor_id": "user1001",
            "action": "edit_group_title",
            "title": TITLE,
        },
    ]
    write_export(root, messages, name=CHAT, type="private_supergroup", id=1700000002)
    return shas


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import os

    os.environ.setdefault("PERISAI_PASSPHRASE", "correct horse battery staple")
    base = tmp_path_factory.mktemp("reports")
    synth(base / "synth", messages=150, photos=4, seed=3)
    csam_sha, ncii_sha = _hostile_export(base / "hostile")
    case = Case.open(base / "case")
    ingest(case, base / "synth")
    ingest(case, base / "hostile")
    (base / "csam.txt").write_text(f"sha256 {csam_sha}\n")
    (base / "ncii.txt").write_text(f"sha256 {ncii_sha}\n")
    import_list(case, base / "csam.txt", "hotline-csam", "csam")
    import_list(case, base / "ncii.txt", "ncii-list", "ncii")
    triage(case, workers=1, only="hash,group,match,preview,text,dox")
    from perisai.victims import add_victim

    add_victim(case, "Kes-Alpha-7", phones=["012-345 6789"])
    return {"case": case, "base": base, "csam": csam_sha, "ncii": ncii_sha}


def _html(built, kind, **kw):
    out = built["base"] / "out" / f"{kind}-{len(kw)}.html"
    (path,) = render(built["case"], kind, out, **kw)
    return path.read_text("utf-8")


def _assert_escaped(text: str) -> None:
    for s in HOSTILE_STRINGS:
        assert s not in text, s
    assert "\\u202e" in text  # the override is shown, not obeyed
    assert "&lt;script&gt;" in text or "&lt;img" in text or "&lt;b&gt;" in text


@pytest.mark.parametrize("kind", ["police", "victims", "takedown"])
def test_html_reports_escape_hostile_text(built, kind):
    text = _html(built, kind)
    _assert_escaped(text)
    assert "Geng Jahat" in text  # the hostile chat is there, rendered as text
    assert "UTC" in text and "MYT" in text


def test_police_report_masks_identities_unless_asked(built):
    head = custody.read_head(built["case"].head_path)  # the report.write event comes after
    text = _html(built, "police")
    assert "Laporan Kes Polis" in text and "Police Case Report" in text
    facts = text[text.index("Key facts") : text.index("Case summary")]
    assert "hashes only" in facts and "<b>1</b>" in facts  # one CSAM file
    assert PHONE not in text and "+6012•••••89" in text
    assert "020905105438" not in text
    # victims registry never in the police report
    assert "Kes-Alpha-7" not in text
    # chats with numeric ids and links, custody head and how to verify, limits of a hash
    assert "1700000002" in text and "https://t.me/c/1700000002/1" in text
    assert head["sha256"] in text and "perisai verify" in text
    assert "does not prove" in text
    full = _html(built, "police", include_identities=True)
    assert PHONE in full and "CONTAINS victims" in full
    assert "Kes-Alpha-7" not in full


def test_police_media_csam_only_hashes_and_links_ncii_blurred_thumbnail(built):
    text = _html(built, "police")
    csam_at = text.index(built["csam"])
    csam_section = text[text.rfind("<h3>", 0, csam_at) : text.find("</table>", csam_at)]
    assert "Child sexual abuse material" in csam_section
    assert "data:image" not in csam_section
    assert "https://t.me/c/1700000002/2" in csam_section  # where it was posted
    ncii_at = text.index(built["ncii"])
    ncii_row = text[text.rfind("<tr>", 0, ncii_at) : text.find("</tr>", ncii_at)]
    assert 'src="data:image/jpeg;base64,' in ncii_row
    assert "Non-consensual intimate images" in text


def test_victims_report_is_for_caseworkers_with_values_and_next_steps(built):
    text = _html(built, "victims")
    banner = "CONFIDENTIAL: for caseworkers only"
    assert text.count(banner) >= 2  # the page banner and every dossier
    assert PHONE in text  # the caseworker has to reach her
    assert "Kes-Alpha-7" in text  # registered people get a dossier, with where she appeared
    registered = text[text.index("Kes-Alpha-7") :]
    assert "https://t.me/c/1700000002/1" in registered[: registered.index("Next steps")]
    for step in ("abuse@telegram.org", "police report", "StopNCII", "Take It Down", "privacy"):
        assert step.lower() in text.lower(), step
    assert "data:image" not in text  # never any image, not even blurred


def test_takedown_is_links_by_harm_without_media_or_victims(built):
    text = _html(built, "takedown")
    assert "stopCA@telegram.org" in text and "aduan.mcmc.gov.my" in text
    assert "report.iwf.org.uk/my" in text
    assert "https://t.me/c/1700000002/2" in text  # the CSAM posting, as a link
    assert "https://t.me/+AbCdEf12345" in text  # the backup group
    assert "data:image" not in text
    assert PHONE not in text and "+6012" not in text and "Kes-Alpha-7" not in text
    assert "Personal data exposed (doxxing)" in text


def test_folder_output_writes_html_and_pdf_and_logs_custody(built):
    case = built["case"]
    out = built["base"] / "folder"
    paths = render(case, "takedown", out)
    assert sorted(p.name for p in paths) == ["takedown.html", "takedown.pdf"]
    pdf = (out / "takedown.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    with case.engine.connect() as conn:
        events = custody.events(conn, "report.write")
    logged = {e["body"]["sha256"]: e["body"] for e in events}
    for p in paths:
        body = logged[hashlib.sha256(p.read_bytes()).hexdigest()]
        assert body["kind"] == "takedown" and body["size"] == p.stat().st_size
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    assert verify(case)["ok"]


def test_pdf_renderer_refuses_every_non_data_url(tmp_path):
    html = (
        '<html><head><link rel="stylesheet" href="http://example.com/x.css">'
        '<link rel="stylesheet" href="file:///etc/passwd"></head><body>'
        '<img src="https://example.com/a.png"><img src="data:image/gif;base64,'
        'R0lGODlhAQABAAAAACw=">hello</body></html>'
    )
    refused = write_pdf(html, tmp_path / "x.pdf")
    assert (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")
    assert any(u.startswith("http://example.com") for u in refused)
    assert any(u.startswith("https://example.com") for u in refused)
    assert any(u.startswith("file:") for u in refused)


def test_vics_case_json_roundtrips_through_our_reader(built, tmp_path):
    (path,) = render(built["case"], "vics", tmp_path)
    assert path.name == "vics.json"
    doc = json.loads(path.read_text("utf-8"))
    assert doc["@odata.context"].endswith("$metadata#Cases")
    (vcase,) = doc["value"]
    media = {m["SHA256"]: m for m in vcase["Media"]}
    assert media[built["csam"]]["Category"] == 1
    assert media[built["ncii"]]["Category"] is None  # no VICS meaning: null
    uncategorised = [m for m in vcase["Media"] if "uncategorised" in m["Comments"]]
    assert uncategorised and all(m["Category"] is None for m in uncategorised)
    assert all(m["MD5"] == m["MD5"].upper() and len(m["SHA1"]) == 40 for m in vcase["Media"])
    assert media[built["csam"]]["MediaFiles"][0]["FileName"] == "p1.jpg"
    skipped: Counter[str] = Counter()
    read = {r.value for r in read_vics(path, skipped) if r.algorithm == "md5"}
    assert media[built["csam"]]["MD5"].lower() in read


def test_vics_category_map_is_configurable(built, tmp_path):
    (tmp_path / "map.json").write_text(json.dumps({"ncii": 5, "csam": 2}))
    (path,) = render(built["case"], "vics", tmp_path / "v.json", category_map=tmp_path / "map.json")
    media = {m["SHA256"]: m for m in json.loads(path.read_text())["value"][0]["Media"]}
    assert media[built["ncii"]]["Category"] == 5 and media[built["csam"]]["Category"] == 2
    (tmp_path / "bad.toml").write_text("porn = 3\n")
    with pytest.raises(BadInput, match="unknown category"):
        render(built["case"], "vics", tmp_path / "w.json", category_map=tmp_path / "bad.toml")


def test_ncmec_xml_is_hash_only_in_schema_order(built, tmp_path):
    (path,) = render(built["case"], "ncmec", tmp_path)
    raw = path.read_bytes()
    assert RLO.encode() not in raw and b"<script>" not in raw
    root = ET.fromstring(raw)
    report = root.find("report")
    order = [child.tag for child in report]
    schema = [
        "incidentSummary",
        "internetDetails",
        "lawEnforcement",
        "reporter",
        "personOrUserReported",
        "intendedRecipient",
        "victim",
        "additionalInfo",
    ]
    positions = [schema.index(t) for t in order]
    assert positions == sorted(positions) and order[0] == "incidentSummary"
    assert report.find("incidentSummary/incidentType").text.startswith("Child Pornography")
    room = report.find("internetDetails/chatImIncident/chatRoomName").text
    assert room == neutralise(CHAT) and "<script>" in room  # text, escaped by the XML writer
    assert report.find("personOrUserReported/espIdentifier").text == "1001"
    files = root.findall("fileDetails")
    assert len(files) == 1
    hashes = {h.get("hashType"): h.text for h in files[0].findall("originalFileHash")}
    assert hashes["SHA256"] == built["csam"] and set(hashes) == {"MD5", "SHA1", "SHA256"}
    assert files[0].find("originalFileName") is None
    assert b"Kes-Alpha-7" not in raw and PHONE.encode() not in raw


def test_cli_report_json_and_bad_kind(built, tmp_path):
    case_dir = str(built["case"].root)
    done = run_cli("report", case_dir, "--kind", "ncmec", "-o", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["kind"] == "ncmec" and doc["files"][0]["path"].endswith("ncmec.xml")
    f = doc["files"][0]
    assert hashlib.sha256((tmp_path / "ncmec.xml").read_bytes()).hexdigest() == f["sha256"]
    bad = run_cli("report", case_dir, "--kind", "poster", "-o", str(tmp_path))
    assert bad.returncode == 2 and "unknown report kind" in bad.stderr


def test_mask_and_neutralise():
    assert mask("pii.phone", "+60123456789") == "+6012•••••89"
    assert mask("pii.email", "nur@gmail.com").endswith("@gmail.com")
    assert "nur.aisyah" not in mask("pii.handle", "instagram:nur.aisyah")
    assert neutralise(f"a{RLO}b\u2066c") == "a\\u202eb\\u2066c"


def test_police_pdf_renders(built, tmp_path):
    (path,) = render(built["case"], "police", tmp_path / "p.pdf")
    assert path.read_bytes().startswith(b"%PDF")


def test_format_choice_and_bad_outputs(built, tmp_path):
    paths = render(built["case"], "victims", tmp_path / "only-html", fmt="html")
    assert [p.name for p in paths] == ["victims.html"]
    with pytest.raises(BadInput):
        render(built["case"], "vics", tmp_path, fmt="pdf")
    with pytest.raises(BadInput):
        render(built["case"], "police", tmp_path / "x.html", fmt="both")
    (tmp_path / "plainfile").write_text("x")
    with pytest.raises(BadInput, match="not a folder"):
        render(built["case"], "takedown", tmp_path / "plainfile")


def test_takedown_doxxing_lines_are_the_confident_ones(built):
    from perisai.reports import common
    from perisai.reports.takedown import context

    people = common.at_risk(built["case"])

    def refs(keep):
        return {
            (msg["chat_id"], msg["message_id"])
            for p in people
            if keep(p["dox_score"] or 0)
            for msg in p["messages"]
        }

    high, low = refs(lambda s: s >= 0.6), refs(lambda s: s < 0.6)
    lines = next(g for g in context(built["case"])["groups"] if g["harm"] == "doxx")["lines"]
    listed = {(x["chat_id"], x["message_id"]) for x in lines}
    assert listed == high
    assert low - high and not (low - high) & listed


def test_rendering_pdfs_leaves_pillow_strict_about_truncated_images():
    from PIL import ImageFile

    import perisai.reports.pdf  # noqa: F401  (WeasyPrint flips the flag on import)

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_victims_report_lists_a_bounded_number_of_postings_per_person(built, monkeypatch):
    """Every posting counts (occurrences, first and last seen); the page lists at most
    REFS_SHOWN and says how many more there are, so a big case stays a readable page."""
    from perisai.reports import victims as report

    full = report.context(built["case"])["dossiers"]
    busy = max((d for d in full if d["type"] == "atrisk"), key=lambda d: len(d["refs"]))
    assert len(busy["refs"]) >= 2 and busy["refs_more"] == 0
    monkeypatch.setattr(report, "REFS_SHOWN", 1)
    cut = report.context(built["case"])["dossiers"]
    same = next(d for d in cut if d["title"] == busy["title"])
    assert len(same["refs"]) == 1 and same["refs_more"] == len(busy["refs"]) - 1
    assert same["occurrences"] == busy["occurrences"]
    text = _html(built, "victims")
    assert f"and {same['refs_more']} more postings" in text

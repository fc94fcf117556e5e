"""Offender profiles: names, roles from service events, bots, first posting vs repost."""

import io
import json

import pytest
from PIL import Image, ImageOps

from perisai.analysis.offenders import profiles
from perisai.case import Case
from perisai.ingest.ids import decode_from_id
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage

from helpers import msg, run_cli, write_export


def _service(i, action, actor, actor_id, **extra):
    m = msg(i, "", type="service", actor=actor, actor_id=actor_id, action=action, **extra)
    del m["from"], m["from_id"]
    return m


def _jpeg(path, mirror=False):
    img = Image.linear_gradient("L").convert("RGB").resize((640, 480))
    img.paste((200, 40, 40), (100, 100, 300, 260))
    if mirror:
        img = ImageOps.mirror(img)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


@pytest.fixture
def crafted(tmp_path):
    export = tmp_path / "export"
    _jpeg(export / "photos" / "a.jpg")
    _jpeg(export / "photos" / "a_again.jpg", mirror=True)  # a near-duplicate: same cluster
    boss, boss_id = "Abang Boss", "user101"
    messages = [
        _service(1, "create_group", boss, boss_id, title="Geng", members=["Kawan Satu"]),
        msg(2, "hai", **{"from": "Kawan Satu", "from_id": "user102"}),
        _service(3, "join_group_by_link", "Budak Baru", "user103", inviter="Kawan Satu"),
        msg(4, "ada video baru", **{"from": boss, "from_id": boss_id}, photo="photos/a.jpg"),
        msg(
            5, "repost", **{"from": "Budak Baru", "from_id": "user103"}, photo="photos/a_again.jpg"
        ),
        msg(6, "backup t.me/+AbCdEf123456", **{"from": boss, "from_id": boss_id}),
        _service(7, "pin_message", boss, boss_id, message_id=6),
        msg(8, "jual video awek RM50 pm", **{"from": boss, "from_id": boss_id}, via_bot="@JualBot"),
        msg(
            9,
            "ni nombor awek tu 012-345 6789 call dia",
            **{"from": "Boss Baru", "from_id": boss_id},
        ),
        _service(10, "invite_members", boss, boss_id, members=["Budak Baru", None]),
        msg(11, "signed post", **{"from": "Geng", "from_id": "channel1500000001"}, author=boss),
    ]
    write_export(export, messages)
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    triage(case, workers=1, only="hash,group,text,dox")
    return case


def test_profiles_from_a_crafted_group(crafted):
    result = profiles(crafted)
    by_id = {p["tg_id"]: p for p in result}
    boss, kawan, baru = by_id[101], by_id[102], by_id[103]
    assert result[0]["tg_id"] == 101  # most harm first
    assert [p["harm_score"] for p in result] == sorted(
        (p["harm_score"] for p in result), reverse=True
    )
    assert all(p["allegation"] is True and p["sources"] for p in result if p["harm_score"])

    names = [(n["kind"], n["value"]) for n in boss["names"]]
    assert ("display_name", "Abang Boss") in names and ("display_name", "Boss Baru") in names
    assert boss["first_seen"] <= boss["last_seen"] and boss["first_seen"].endswith("Z")
    assert boss["messages"] == 4 and boss["service_messages"] == 3
    assert boss["bots"] == ["@JualBot"]
    assert boss["findings"]["intent.trade"] >= 1 and boss["findings"]["pii.phone"] == 1
    assert boss["findings"]["link.telegram"] == 1

    roles = {(r["role"], r["message_id"]) for r in boss["roles"]}
    assert {("creator", 1), ("pinner", 7), ("inviter", 10)} <= roles
    pin = next(r for r in boss["roles"] if r["role"] == "pinner")
    assert pin["detail"] == "pinned message 6" and pin["inferred"] is False
    assert pin["source"] == "https://t.me/c/1500000001/7"
    invite = next(r for r in boss["roles"] if r["role"] == "inviter")
    assert "Budak Baru" in invite["detail"] and "(deleted account)" in invite["detail"]
    signed = next(r for r in boss["roles"] if r["role"] == "admin_signature")
    assert signed["inferred"] is True and signed["message_id"] == 11

    link = next(r for r in kawan["roles"] if r["role"] == "link_inviter")
    assert link["inferred"] is True and "Budak Baru (user:103)" in link["detail"]
    assert any(r["role"] == "joined_by_link" for r in baru["roles"])

    # The photo and its mirrored repost are one cluster: the boss posted it first.
    assert boss["media"]["first_posted"] == 1 and boss["media"]["reposted"] == 0
    assert baru["media"] == {
        "first_posted": 0,
        "reposted": 1,
        "clusters": [
            {
                "cluster_sha256": boss["media"]["clusters"][0]["cluster_sha256"],
                "first": False,
                "message_id": 5,
                "chat_id": 1500000001,
                "date_utc": baru["media"]["clusters"][0]["date_utc"],
            }
        ],
    }
    assert boss["media"]["clusters"][0]["message_id"] == 4
    channel = by_id[1500000001]
    assert channel["kind"] == "channel"
    assert any(r["detail"] == "signed by Abang Boss" for r in channel["roles"])


def test_offenders_cli(crafted, tmp_path):
    case_dir = str(tmp_path / "case")
    out = run_cli("offenders", case_dir, "--json", "--limit", "2")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data) == 2 and data[0]["tg_id"] == 101
    human = run_cli("offenders", case_dir)
    assert human.returncode == 0 and human.stdout.startswith("Allegations")
    assert "101" in human.stdout and "roles: admin_signature, creator, inviter" in human.stdout


@pytest.mark.parametrize(
    "name",
    [
        "03_vu_pakistan_public_channel_2020-11_legacy_numeric_ids.json",
        "04_ragtgbot_private_group_2025-03_ru.json",
        "05_salaf_public_channel_2025-11_2026-07_ar_en.json",
        "07_tele_dashboard_private_group_anonymized_adversarial.json",
        "08_trantor_public_channel_2023-2025_zh_reactions_poll.json",
    ],
)
def test_profiles_on_real_exports(corpus, tmp_path, name):
    case = Case.open(tmp_path / "case")
    ingest(case, corpus / name, timezone="UTC")
    triage(case, workers=1, only="text")
    result = profiles(case)
    assert result
    doc = json.loads((corpus / name).read_text(encoding="utf-8"))
    for p in result:
        assert isinstance(p["tg_id"], int) and p["allegation"] is True
        assert p["messages"] + p["service_messages"] >= 1
        json.dumps(p)
    roles = {r["role"] for p in result for r in p["roles"]}
    # Roles of every service action whose actor has a numeric id.
    actions = {
        x.get("action")
        for x in doc["messages"]
        if x.get("type") == "service" and decode_from_id(x.get("actor_id")) is not None
    }
    if "create_group" in actions:
        assert "creator" in roles
    if "pin_message" in actions:
        assert "pinner" in roles
    if any(isinstance(x, dict) and x.get("author") for x in doc["messages"]):
        assert "admin_signature" in roles
    # Every sender with a numeric id that sent a message has a profile.
    senders = {x.get("from_id") for x in doc["messages"] if x.get("type") == "message"}
    assert len(result) >= min(1, len({s for s in senders if s}))

"""Tests of the synthetic export generator (perisai.synth)."""

from __future__ import annotations

import calendar
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from perisai.synth import lexicon as L
from perisai.synth import synth
from perisai.synth.eras import ERAS, local_iso
from perisai.synth.images import TRANSFORMS
from perisai.synth.plan import minimum_messages

PLACEHOLDER_PREFIX = "(File "
IC_CODES = (
    {f"{n:02d}" for n in range(1, 17)}
    | {f"{n:02d}" for n in range(21, 60)}
    | {"82", "71", "72", "98", "99"}
    | {f"{n:02d}" for n in (*range(60, 69), *range(74, 80), *range(83, 94))}
)


def load(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    with open(out / "result.json", encoding="utf-8") as f:
        export = json.load(f)
    with open(out / "ground_truth.json", encoding="utf-8") as f:
        truth = json.load(f)
    return export, truth


def canonical(msg: dict[str, Any]) -> str:
    text = msg["text"]
    if isinstance(text, str):
        return text
    return "".join(p if isinstance(p, str) else p["text"] for p in text)


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """One export with every transformation (36 photos give 12 near-duplicates)."""
    out = tmp_path_factory.mktemp("rich") / "export"
    summary = synth(out, messages=700, photos=36, seed=7)
    assert summary["messages"] == 700
    export, truth = load(out)
    return out, export, truth


def test_shape_and_count(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    out, export, truth = rich
    assert list(export) == ["name", "type", "id", "messages"]
    assert export["type"] == "private_supergroup"
    assert len(export["messages"]) == 700
    assert export["name"] == truth["chat"]["name"]
    assert export["id"] == truth["chat"]["id"]
    assert truth["chat"]["marked_id"] == -(10**12 + truth["chat"]["id"])
    assert truth["timezone"]["name"] == "Asia/Kuala_Lumpur"
    raw = (out / "result.json").read_text(encoding="utf-8")
    assert raw.startswith('{\n "name": ') and raw.endswith("\n ]\n}")


def test_message_kinds_present(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, export, _ = rich
    msgs = export["messages"]
    by_id = {m["id"]: m for m in msgs}
    assert len(by_id) == len(msgs), "message ids must be unique"
    actions = {m.get("action") for m in msgs}
    for action in (
        "create_group",
        "invite_members",
        "migrate_to_supergroup",
        "migrate_from_group",
        "join_group_by_link",
        "pin_message",
        "edit_group_title",
        "set_messages_ttl",
    ):
        assert action in actions, action
    assert all(m["id"] < 0 for m in msgs[:3]), "the basic-group prologue has negative ids"
    for m in msgs:
        if m.get("action") == "join_group_by_link":
            assert "inviter" in m
        if m.get("action") == "pin_message":
            pinned = canonical(by_id[m["message_id"]]) + json.dumps(by_id[m["message_id"]])
            assert "t.me/" in pinned or "telegram.me/" in pinned
        if "reply_to_message_id" in m:
            assert m["reply_to_message_id"] in by_id
    keys = set().union(*(m.keys() for m in msgs))
    for key in (
        "forwarded_from",
        "forwarded_from_id",
        "reply_to_message_id",
        "edited",
        "via_bot",
        "contact_information",
        "photo_file_size",
    ):
        assert key in keys, key
    assert any(m.get("from") is None and "from_id" in m for m in msgs), "deleted account"


def test_dates_agree(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, export, _ = rich
    last = 0
    for m in export["messages"]:
        epoch = int(m["date_unixtime"])
        assert local_iso(epoch) == m["date"]
        assert epoch >= last
        last = epoch
        if "edited" in m:
            assert local_iso(int(m["edited_unixtime"])) == m["edited"]


def test_media_paths_exist(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    out, export, truth = rich
    seen = 0
    for m in export["messages"]:
        for key in ("photo", "file", "thumbnail"):
            if key in m and not m[key].startswith(PLACEHOLDER_PREFIX):
                assert (out / m[key]).is_file(), m[key]
                seen += 1
    assert seen > 40
    by_id = {m["id"]: m for m in export["messages"]}
    placeholders = [r for r in truth["media"] if r["path"] is None]
    assert placeholders
    for rec in placeholders:
        msg = by_id[rec["message_ids"][0]]
        assert (msg.get("photo") or msg.get("file")) == rec["placeholder"]
        assert rec["declared_size"] in (msg.get("photo_file_size"), msg.get("file_size"))
    assert any(len(r["message_ids"]) > 1 for r in truth["media"]), "a file posted twice"
    names = [r["path"] for r in truth["media"] if r["path"] and r["path"].startswith("files/")]
    assert any("," in n and " " in n and not n.isascii() for n in names)


def test_spans_point_at_raw_text(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, export, truth = rich
    by_id = {m["id"]: m for m in export["messages"]}
    checked = 0
    for rec in truth["messages"]:
        msg = by_id[rec["id"]]
        text = canonical(msg)
        for item in rec.get("pii", []):
            if item["where"] == "text":
                start, end = item["span"]
                assert text[start:end] == item["raw"], (rec["id"], item)
                checked += 1
            elif item["where"] == "href":
                assert any(
                    isinstance(p, dict) and p.get("href") == item["raw"] for p in msg["text"]
                )
            else:
                assert item["where"] in msg
        for item in rec.get("intents", []):
            start, end = item["span"]
            assert text[start:end] == item["phrase"]
    assert checked > 50


def test_entities_match_text(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, export, _ = rich
    types = set()
    for m in export["messages"]:
        joined = "".join(e["text"] for e in m["text_entities"])
        assert joined == canonical(m)
        types |= {e["type"] for e in m["text_entities"]}
    assert {"phone", "email", "mention", "link", "plain"} <= types


def test_phones_are_valid_malaysian(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    _, _, truth = rich
    phones = [p for r in truth["messages"] for p in r.get("pii", []) if p["kind"] == "pii.phone"]
    assert len(phones) > 10
    for p in phones:
        parsed = phonenumbers.parse(p["value"], None)
        assert phonenumbers.is_valid_number(parsed), p
        assert phonenumbers.region_code_for_number(parsed) == "MY"
        assert p["value"] == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if p["where"] == "text":
            digits = "".join(ch for ch in p["raw"] if ch.isdigit())
            assert p["value"][3:] in digits


def test_ics_are_valid(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, _, truth = rich
    ics = [p for r in truth["messages"] for p in r.get("pii", []) if p["kind"] == "pii.ic"]
    assert ics
    for p in ics:
        ic = p["value"]
        assert len(ic) == 12 and ic.isdigit()
        assert "".join(ch for ch in p["raw"] if ch.isdigit()) == ic
        year = int(p["detail"]["birth_date"][:4])
        month, day = int(ic[2:4]), int(ic[4:6])
        assert year % 100 == int(ic[:2])
        assert 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]
        assert ic[6:8] in IC_CODES


def test_derived_photos(rich: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    out, _, truth = rich
    derived = [r for r in truth["media"] if r.get("derived_from")]
    assert {r["transform"]["name"] for r in derived} == set(TRANSFORMS)
    for rec in derived:
        assert (out / rec["derived_from"]).is_file()
        with Image.open(out / rec["path"]) as img:
            img.load()
            if rec["transform"]["name"] == "exif_rotate":
                assert img.getexif().get(0x0112) == rec["transform"]["orientation"]
                upright = ImageOps.exif_transpose(img)
                assert upright is not None and upright.size == (rec["width"], rec["height"])
            if rec["transform"]["name"] == "cmyk":
                assert img.mode == "CMYK"


def test_determinism(tmp_path: Path) -> None:
    a = synth(tmp_path / "a", messages=80, photos=6, seed=3)
    synth(tmp_path / "b", messages=80, photos=6, seed=3)
    synth(tmp_path / "c", messages=80, photos=6, seed=4)
    ta, tb, tc = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert ta == tb
    assert ta["result.json"] != tc["result.json"]
    assert a["messages"] == 80


@pytest.mark.parametrize("era", ["current", "2021", "2020"])
def test_era_shapes(tmp_path: Path, era: str) -> None:
    synth(tmp_path / era, messages=2000, photos=3, seed=11, era=era)
    export, truth = load(tmp_path / era)
    bare = truth["chat"]["id"]
    msgs = export["messages"]
    assert len(msgs) == 2000
    window = ERAS[era]
    assert local_iso(window.start) <= msgs[0]["date"] <= msgs[-1]["date"] <= local_iso(window.end)
    from_ids = [m["from_id"] for m in msgs if "from_id" in m]
    if era == "current":
        assert export["id"] == bare
        assert all(isinstance(f, str) and f.startswith(("user", "channel")) for f in from_ids)
        assert all("date_unixtime" in m and "text_entities" in m for m in msgs)
        assert any("photo_file_size" in m for m in msgs)
    else:
        assert export["id"] == 2**33 + bare
        assert all(isinstance(f, int) for f in from_ids)
        assert not any("date_unixtime" in m or "text_entities" in m for m in msgs)
        assert not any("photo_file_size" in m or "file_size" in m for m in msgs)
        if era == "2021":
            assert all(f >> 32 in (1, 2) for f in from_ids)
        else:
            assert all(f < 2**32 for f in from_ids)
            assert any(m["type"] == "message" and "from_id" not in m for m in msgs)
    senders = {s["id"]: s for s in truth["senders"]}
    for m in msgs:
        if isinstance(m.get("from_id"), int) and era == "2021" and m["from_id"] >> 32 == 1:
            assert m["from_id"] - 2**32 in senders


def test_text_only(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    summary = synth(
        tmp_path / "t",
        messages=2500,
        photos=0,
        videos=0,
        seed=2,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "ground_truth.json",
        "result.json",
    ]
    export, truth = load(tmp_path / "t")
    assert len(export["messages"]) == 2500 and truth["media"] == []
    assert not any("photo" in m or "file" in m for m in export["messages"])
    assert calls[0] == (0, 2500) and calls[-1] == (2500, 2500)
    assert summary["photos"] == 0 and summary["pii"] > 100


def test_videos(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    synth(tmp_path / "v", messages=60, photos=0, videos=3, seed=5)
    export, truth = load(tmp_path / "v")
    videos = [
        m
        for m in export["messages"]
        if m.get("media_type") == "video_file" and not m["file"].startswith(PLACEHOLDER_PREFIX)
    ]
    assert len(videos) == 4  # three originals and one smaller re-encode
    for m in videos:
        assert m["mime_type"] == "video/mp4" and m["duration_seconds"] > 0
        assert (tmp_path / "v" / m["thumbnail"]).is_file()
        with av.open(str(tmp_path / "v" / m["file"])) as c:
            assert sum(1 for _ in c.decode(video=0)) > 5
    assert any(r.get("derived_from") for r in truth["media"] if r["kind"] == "video")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"messages": -1},
        {"photos": -2},
        {"videos": -1},
        {"era": "2019"},
        {"messages": 5},
        {"messages": 30, "photos": 40},
        {"seed": "1"},
        {"messages": True},
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        synth(tmp_path / "x", **kwargs)


@pytest.mark.parametrize(("photos", "videos"), [(0, 0), (5, 0), (12, 0)])
def test_smallest_exports_keep_every_pin(tmp_path: Path, photos: int, videos: int) -> None:
    n = minimum_messages(photos, videos)
    with pytest.raises(ValueError, match=f"need at least {n}"):
        synth(tmp_path / "small", messages=n - 1, photos=photos, videos=videos)
    synth(tmp_path / "ok", messages=n, photos=photos, videos=videos, seed=3)
    export, truth = load(tmp_path / "ok")
    assert len(export["messages"]) == n
    pinned = {m["message_id"] for m in export["messages"] if m.get("action") == "pin_message"}
    backups = {r["id"] for r in truth["messages"] if r["kind"] == "backup_announcement"}
    assert backups and backups <= pinned


def test_refuses_non_empty_dir(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        synth(tmp_path, messages=50, photos=0)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_lexicons_do_not_overlap() -> None:
    intents = L.TRADE + L.SEXTORTION + L.SOLICITATION
    for phrase in L.CHATTER + L.CAPTION_TEXTS + L.RULES + [L.WELCOME]:
        assert not any(i.lower() in phrase.lower() for i in intents), phrase

"""Many exports, one case: `perisai ingest CASE FOLDER` ingests each export in the folder, names
the bad ones, and cross-chat clustering and offender linking see one case."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from perisai.analysis.offenders import profiles
from perisai.case import Case
from perisai.executors.exports import find_exports, ingest_folder
from perisai.pipeline import triage
from perisai.store import models as m

from helpers import msg, run_cli, write_export


def _photo(path: Path, seed: int) -> None:
    """A benign generated picture: coloured rectangles, different per seed."""
    r = random.Random(seed)
    im = Image.new("RGB", (320, 240), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    for _ in range(40):
        x, y = r.randrange(300), r.randrange(220)
        colour = (r.randrange(256), r.randrange(256), r.randrange(256))
        draw.rectangle((x, y, x + r.randrange(10, 120), y + r.randrange(10, 90)), fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "JPEG", quality=90)


def _two_chats(folder: Path) -> None:
    """Chat A posts a photo; chat B reposts it (re-encoded, so other bytes); one sender
    (user7007) writes in both."""
    a, b = folder / "chat_a", folder / "chat_b"
    _photo(a / "photos" / "p1.jpg", 1)
    _photo(a / "photos" / "p2.jpg", 2)
    with Image.open(a / "photos" / "p1.jpg") as im:
        (b / "photos").mkdir(parents=True)
        im.save(b / "photos" / "re.jpg", "JPEG", quality=70)  # a repost: same picture
    write_export(
        a,
        [
            msg(1, "look", photo="photos/p1.jpg", from_id="user7007", **{"from": "Abang"}),
            msg(2, "another", photo="photos/p2.jpg", from_id="user1001"),
        ],
        name="Group A",
        id=1500000001,
    )
    write_export(
        b,
        [
            msg(10, "repost", photo="photos/re.jpg", from_id="user7007", **{"from": "Abang"}),
            msg(11, "hello", from_id="user2002"),
        ],
        name="Group B",
        id=1500000002,
    )


def test_two_chats_one_cluster_one_offender(tmp_path):
    folder = tmp_path / "exports"
    _two_chats(folder)
    assert [p.relative_to(folder).as_posix() for p in find_exports(folder)] == [
        "chat_a/result.json",
        "chat_b/result.json",
    ]
    case = Case.open(tmp_path / "case")
    out = ingest_folder(case, folder)
    assert out["ingested"] == 2 and out["failed"] == []
    triage(case, workers=1)
    with case.engine.connect() as conn:
        chats = dict(conn.execute(select(m.CHATS.c.id, m.CHATS.c.tg_id)).all())
        posting = (
            select(m.CLUSTER_MEMBERS.c.cluster_id, m.MESSAGES.c.chat_id)
            .join(
                m.MEDIA_OCCURRENCES,
                m.MEDIA_OCCURRENCES.c.media_id == m.CLUSTER_MEMBERS.c.media_id,
            )
            .join(m.MESSAGES, m.MESSAGES.c.id == m.MEDIA_OCCURRENCES.c.message_pk)
        )
        rows = conn.execute(posting).all()
        n_clusters = conn.execute(
            select(func.count(func.distinct(m.CLUSTER_MEMBERS.c.cluster_id)))
        ).scalar()
    assert len(chats) == 2
    by_cluster: dict[int, set[int]] = {}
    for cluster, chat in rows:
        by_cluster.setdefault(cluster, set()).add(chats[chat])
    # p1 and its repost are one cluster with postings in both chats; p2 is its own.
    assert n_clusters == 2
    assert sorted(map(sorted, by_cluster.values())) == [
        [1500000001],
        [1500000001, 1500000002],
    ]
    offender = [p for p in profiles(case) if p["tg_id"] == 7007]
    assert len(offender) == 1
    assert len(offender[0]["chats"]) == 2
    media = offender[0]["media"]
    # The same picture posted in both chats is one cluster, first posted in chat A.
    assert len(media["clusters"]) == 1 and media["first_posted"] == 1
    assert media["clusters"][0]["chat_id"] == 1500000001


def test_a_bad_export_is_named_and_the_others_land(tmp_path):
    folder = tmp_path / "exports"
    write_export(folder / "good", [msg(1, "fine")], id=1500000001)
    (folder / "broken").mkdir(parents=True)
    (folder / "broken" / "result.json").write_text('{"name": "x", "messages": [ {"id": 1,')
    # Two exports as files side by side in one folder also count.
    write_export(folder / "pair", [msg(1, "one")], id=1500000003)
    (folder / "pair" / "result.json").rename(folder / "pair" / "result_1.json")
    write_export(folder / "pair", [msg(2, "two")], id=1500000004)
    (folder / "pair" / "result.json").rename(folder / "pair" / "result_2.json")
    res = run_cli("ingest", str(tmp_path / "case"), str(folder), "--json")
    assert res.returncode == 2, res.stderr
    doc = json.loads(res.stdout)
    assert doc["failed"] == ["broken/result.json"]
    assert doc["ingested"] == 3
    assert "broken/result.json" in res.stderr and "1 of 4 exports failed" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "truncated" in res.stderr
    case = Case.open(tmp_path / "case", create=False)
    with case.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.CHATS)).scalar() == 3
        assert conn.execute(select(func.count()).select_from(m.MESSAGES)).scalar() == 3
    # Again: nothing new anywhere, the broken one still named.
    again = run_cli("ingest", str(tmp_path / "case"), str(folder), "--json")
    assert again.returncode == 2
    assert [r["unchanged"] for r in json.loads(again.stdout)["exports"] if r["ok"]] == [
        True,
        True,
        True,
    ]


def test_a_single_export_folder_is_ingested_as_before(tmp_path):
    export = write_export(tmp_path / "e", [msg(1, "hi <script>alert(1)</script>")])
    res = run_cli("ingest", str(tmp_path / "case"), str(export), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["messages_new"] == 1 and "exports" not in doc


def test_a_folder_without_exports_is_a_clear_error(tmp_path):
    (tmp_path / "empty" / "photos").mkdir(parents=True)
    res = run_cli("ingest", str(tmp_path / "case"), str(tmp_path / "empty"))
    assert res.returncode == 2
    assert "no result.json" in res.stderr

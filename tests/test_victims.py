"""The victim registry: registered people are found (identifiers and reposted photos), nothing
of anyone else is attributed to them, bad input is refused whole, and withdrawal leaves no
trace of her registration in the database files."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from perisai.case import Case
from perisai.detect import detect_text
from perisai.errors import BadInput
from perisai.findings import findings
from perisai.ingest.telegram_export import ingest
from perisai.media.victim_hash import victim_hash
from perisai.pipeline import triage
from perisai.stages.victim_match import VictimMatchStage
from perisai.store import models as m
from perisai.synth import synth
from perisai.verify import verify
from perisai.victims import (
    IDENTIFIER_KINDS,
    add_victim,
    identifier_digest,
    list_victims,
    normalise_identifier,
    read_hashes_file,
    withdraw_victim,
)

from helpers import run_cli

ROBUST = {"match", "match_after_exif_transpose", "match_after_rgb_conversion", "dihedral"}


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "export"
    synth(out, messages=500, photos=48, seed=5)
    return out


@pytest.fixture(scope="module")
def triaged(tmp_path_factory, export):
    """A case ingested and triaged once (hashes, clusters, text findings); copied per test."""
    root = tmp_path_factory.mktemp("base") / "case"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
        case = Case.open(root)
        ingest(case, export)
        triage(case, workers=1, only="hash,regions,group,match,text")
        case.close()
    return root


@pytest.fixture
def case(tmp_path, triaged):
    shutil.copytree(triaged, tmp_path / "case")
    return Case.open(tmp_path / "case", create=False)


def _truth(export: Path) -> dict:
    return json.loads((export / "ground_truth.json").read_text())


def _ids(person: dict, kind: str) -> list[str]:
    return [i["value"] for i in person["identifiers"] if i["kind"] == kind]


def _hash_file(tmp_path: Path, name: str, paths: list[Path]) -> Path:
    out = tmp_path / f"{name}.json"
    out.write_text(json.dumps(victim_hash(paths)))
    return out


def _benign_image(path: Path, seed: int) -> Path:
    """Her own picture that was never posted: generated noise blocks, benign."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    Image.fromarray(blocks).resize((640, 480), Image.NEAREST).save(path, quality=92)
    return path


# -- matching on a synthetic case ---------------------------------------------------------------
def test_registered_people_are_found_and_nobody_else(tmp_path, export, case):
    truth = _truth(export)
    media = [x for x in truth["media"] if x.get("path")]
    owner: dict[str, str] = {}  # file path -> alias of the registered person it belongs to
    registered: dict[str, dict] = {}
    for person in truth["persons"]:
        alias = f"person-{person['index']}"
        originals = [x for x in media if x.get("person") == person["index"]]
        originals = [x for x in originals if not x.get("derived_from")]
        hashes = None
        if originals:
            hashes = _hash_file(tmp_path, alias, [export / x["path"] for x in originals])
        ids = {k: _ids(person, k) for k in IDENTIFIER_KINDS}
        result = add_victim(
            case,
            alias,
            phones=ids["pii.phone"],
            handles=ids["pii.handle"],
            emails=ids["pii.email"],
            ics=ids["pii.ic"],
            hashes_file=hashes,
        )
        assert result["hashes"]["images"] == len(originals)
        registered[alias] = {"values": ids, "originals": {x["path"] for x in originals}}
        for x in originals:
            owner[x["path"]] = alias
    # A woman outside the persons list: her photos are the unattributed originals with copies.
    derived_from = {x["derived_from"] for x in media if x.get("derived_from")}
    anon = [x for x in media if x["path"] in derived_from and x["path"] not in owner]
    add_victim(
        case, "anon", hashes_file=_hash_file(tmp_path, "anon", [export / x["path"] for x in anon])
    )
    registered["anon"] = {
        "values": {k: [] for k in IDENTIFIER_KINDS},
        "originals": {x["path"] for x in anon},
    }
    for x in anon:
        owner[x["path"]] = "anon"
    for x in media:
        if x.get("derived_from") in owner:
            owner[x["path"]] = owner[x["derived_from"]]

    by_sha = {x["sha256"]: x for x in media}
    # A file sent "as a document" comes with the exporter's thumbnail of it: hers as well.
    with case.engine.connect() as conn:
        for sha, path in conn.execute(
            select(m.MEDIA_FILES.c.sha256, m.MEDIA_OCCURRENCES.c.export_path)
            .join(m.MEDIA_OCCURRENCES, m.MEDIA_OCCURRENCES.c.media_id == m.MEDIA_FILES.c.id)
            .where(m.MEDIA_OCCURRENCES.c.role == "thumbnail")
        ):
            main = path.removesuffix("_thumb.jpg")
            by_sha.setdefault(sha, {"path": path})
            if main in owner:
                owner[path] = owner[main]
    people = {p["alias"]: p for p in list_victims(case)}
    assert set(people) == set(registered)
    chat = truth["chat"]["id"]
    transforms_found: set[str] = set()
    pii = [f for f in findings(case, "pii") if f["kind"] in IDENTIFIER_KINDS]
    for alias, reg in registered.items():
        p = people[alias]
        media_hits = [x for x in p["matches"] if x["kind"] == "media.victim_match"]
        # nothing of anyone else: every matched file is one of hers or a copy of one of hers
        for hit in media_hits:
            assert owner.get(by_sha[hit["media_sha256"]]["path"]) == alias, (alias, hit)
            assert hit["chat_id"] == chat and hit["link"].endswith(f"/{hit['message_id']}")
        # every posting of each of her originals and of every robust copy, in every message
        expected = {
            (x["sha256"], mid)
            for x in media
            if x["path"] in reg["originals"]
            or (x.get("derived_from") in reg["originals"] and x["pdq_expectation"] in ROBUST)
            for mid in x["message_ids"]
        }
        got = {(h["media_sha256"], h["message_id"]) for h in media_hits}
        assert expected <= got, (alias, expected - got)
        transforms_found |= {
            by_sha[s]["transform"]["name"] for s, _ in got if by_sha[s].get("transform")
        }
        # identifiers: exactly the findings that carry one of her values, no other
        mine = {
            (f["kind"], f["message_id"], f["source"], f["media_sha256"])
            for f in pii
            if f["value"] in reg["values"][f["kind"]]
        }
        got_ids = {
            (h["kind"], h["message_id"], h["source"], h["media_sha256"])
            for h in p["matches"]
            if h["kind"] != "media.victim_match"
        }
        assert got_ids == mine, alias
        matched = sum(i["matched_findings"] for i in p["identifiers"])
        assert matched >= len(mine) and (matched > 0) == bool(mine)
    assert {"recompress", "resize", "mirror"} <= transforms_found, transforms_found
    # ground truth: her planted identifiers that the detectors found are all hers in the list
    planted = 0
    for record in truth["messages"]:
        for item in record.get("pii", ()):
            if item["kind"] in IDENTIFIER_KINDS and item.get("person") is not None:
                alias = f"person-{item['person']}"
                hits = {(h["kind"], h["message_id"]) for h in people[alias]["matches"]}
                found = any(
                    f["kind"] == item["kind"]
                    and f["message_id"] == record["id"]
                    and f["value"] == item["value"]
                    for f in pii
                )
                if found:
                    planted += 1
                    assert (item["kind"], record["id"]) in hits, (alias, item)
    assert planted > 50
    assert verify(case)["ok"]


def test_stage_reruns_only_when_inputs_change(tmp_path, export, case):
    stage = VictimMatchStage()
    with case.engine.connect() as conn:
        assert not stage.ready(conn)
        before = stage.signature(conn)
    original = next(x for x in _truth(export)["media"] if x.get("path") and x["kind"] == "photo")
    add_victim(case, "a", hashes_file=_hash_file(tmp_path, "a", [export / original["path"]]))
    with case.engine.connect() as conn:
        assert stage.ready(conn) and stage.signature(conn) != before
    assert triage(case, workers=1)["stages"].get("victim_match", {}).get("items", 0) == 0
    hits = [f for f in findings(case, "media.victim_match")]
    assert hits and all(f["detail"]["alias"] == "a" and f["source"] == "media" for f in hits)
    assert {f["detail"]["algorithm"] for f in hits} >= {"sha256"}
    assert all(
        set(f["detail"]) >= {"victim_id", "alias", "algorithm", "distance", "variant"} for f in hits
    )


def test_identifiers_normalise_like_the_detectors():
    spellings = ["012-345 6789", "+60 12-345 6789", "60123456789", "012.345.6789", "0123456789"]
    assert {normalise_identifier("pii.phone", s) for s in spellings} == {"+60123456789"}
    for s in spellings:
        found = [f.value for f in detect_text(f"no tel: {s}") if f.kind == "pii.phone"]
        assert found == ["+60123456789"], s
    assert normalise_identifier("pii.ic", "880630-10-2882") == "880630102882"
    assert normalise_identifier("pii.email", " Nur.A@Gmail.COM ") == "nur.a@gmail.com"
    for form in [
        "instagram:Nur.Aisyah",
        "ig: @nur.aisyah",
        "IG @nur.aisyah",
        "https://www.instagram.com/nur.aisyah/",
        "instagram.com/Nur.Aisyah",
    ]:
        assert normalise_identifier("pii.handle", form) == "instagram:nur.aisyah", form
    found = [f.value for f in detect_text("ig dia @Nur.Aisyah") if f.kind == "pii.handle"]
    assert found == ["instagram:nur.aisyah"]
    assert normalise_identifier("pii.handle", "t.me/Some_Girl") == "telegram:some_girl"
    assert normalise_identifier("pii.handle", "tiktok:@x_y") == "tiktok:x_y"
    for kind, raw, option in [
        ("pii.phone", "12345", "--phone"),
        ("pii.phone", "0123456789x", "--phone"),
        ("pii.ic", "881330-10-2882", "--ic"),  # month 13
        ("pii.ic", "880630-00-2882", "--ic"),  # place code 00
        ("pii.email", "nur at gmail", "--email"),
        ("pii.handle", "@nur", "--handle"),  # which platform?
        ("pii.handle", "myspace:nur", "--handle"),
        ("pii.handle", "instagram:<script>", "--handle"),
        ("pii.handle", "instagram.com/explore", "--handle"),
        ("pii.phone", "", "--phone"),
    ]:
        with pytest.raises(BadInput) as exc:
            normalise_identifier(kind, raw)
        assert str(exc.value).startswith(option) and "\n" not in str(exc.value)


def test_identifier_digest_is_keyed_and_stable(tmp_path, case):
    key = case.keys.purpose("victim-id")
    a = identifier_digest(case, "pii.phone", "+60123456789")
    assert a == identifier_digest(key, "pii.phone", "+60123456789") and len(a) == 64
    assert a != identifier_digest(key, "pii.ic", "+60123456789")
    assert a != identifier_digest(key, "pii.phone", "+60123456788")
    other = Case.open(tmp_path / "other")
    assert a != identifier_digest(other, "pii.phone", "+60123456789")


# -- bad input ----------------------------------------------------------------------------------
def _state(case: Case) -> tuple[int, ...]:
    with case.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (m.VICTIMS, m.VICTIM_IDENTIFIERS, m.VICTIM_HASHES, m.CUSTODY, m.FINDINGS)
        )


def test_bad_input_is_refused_and_nothing_is_written(tmp_path, export, case):
    photo = next(x for x in _truth(export)["media"] if x.get("path") and x["kind"] == "photo")
    mine = tmp_path / "IMG_Siti_birthday.jpg"  # her file name: must never reach the case
    shutil.copy(export / photo["path"], mine)
    good = json.loads(_hash_file(tmp_path, "good", [mine]).read_text())
    item = good["items"][0]

    def doc(**change):
        return {**good, **change}

    hostile = {
        "not-json": b'{"format": ',
        "not-utf8": b"\xff\xfe{}",
        "deep": b"[" * 100_000 + b"]" * 100_000,
        "array": b"[]",
        "format": json.dumps(doc(format="perisai-hash-list")).encode(),
        "version": json.dumps(doc(version=2)).encode(),
        "version-bool": json.dumps(doc(version=True)).encode(),
        "items": json.dumps(doc(items={"a": 1})).encode(),
        "item": json.dumps(doc(items=[item, "x"])).encode(),
        "kind": json.dumps(doc(items=[{**item, "kind": "audio"}])).encode(),
        "sha": json.dumps(doc(items=[{**item, "sha256": "zz" * 32}])).encode(),
        "pdq": json.dumps(doc(items=[{**item, "pdq": "<script>alert(1)</script>"}])).encode(),
        "dihedral": json.dumps(
            doc(items=[{**item, "pdq_dihedral": item["pdq_dihedral"][:7]}])
        ).encode(),
        "dihedral0": json.dumps(
            doc(
                items=[
                    {**item, "pdq_dihedral": item["pdq_dihedral"][1:] + item["pdq_dihedral"][:1]}
                ]
            )
        ).encode(),
        "quality": json.dumps(doc(items=[{**item, "pdq_quality": 101}])).encode(),
        "video": json.dumps(
            doc(items=[{"kind": "video", "sha256": item["sha256"], "md5": item["md5"], "vpdq": []}])
        ).encode(),
        "frame": json.dumps(
            doc(
                items=[
                    {
                        "kind": "video",
                        "sha256": item["sha256"],
                        "md5": item["md5"],
                        "vpdq": [{"frame": -1, "pdq": item["pdq"], "quality": 100}],
                    }
                ]
            )
        ).encode(),
    }
    before = _state(case)
    for name, data in hostile.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(data)
        with pytest.raises(BadInput) as exc:
            add_victim(case, "her", phones=["0123456789"], hashes_file=path)
        message = str(exc.value)
        assert message.startswith(f"--hashes {path}") and "\n" not in message, name
        assert "<script>" not in message and len(message) < 300, name
        assert _state(case) == before, name
    with pytest.raises(BadInput, match="--hashes .*no such file"):
        add_victim(case, "her", hashes_file=tmp_path / "missing.json")
    with pytest.raises(BadInput, match="^--phone '12345'"):
        add_victim(case, "her", phones=["0123456789", "12345"])
    with pytest.raises(BadInput, match="nothing to register"):
        add_victim(case, "her")
    for alias in ["", "  ", "call 012-345 6789", "nur@gmail.com", "a\u202eb", "x" * 201]:
        with pytest.raises(BadInput, match="^--alias"):
            add_victim(case, alias, phones=["0123456789"])
    assert _state(case) == before
    # an item her device could not hash is skipped; file names are never stored
    good["items"].append({"name": "notes.txt", "kind": "unknown", "error": "not an image"})
    path = tmp_path / "with-error.json"
    path.write_text(json.dumps(good))
    rows, counts = read_hashes_file(path)
    assert counts == {"images": 1, "videos": 0, "skipped": 1}
    assert all(set(r) == {"item", "kind", "algorithm", "value", "variant", "quality"} for r in rows)
    assert sorted(r["variant"] for r in rows if r["algorithm"] == "pdq") == list(range(8))
    add_victim(case, "her", phones=["0123456789"], hashes_file=path)
    with pytest.raises(BadInput, match="already registered"):
        add_victim(case, "her", phones=["0198765432"])
    con = sqlite3.connect(case.root / "perisai.db")
    dump = "\n".join(con.iterdump())
    con.close()
    assert "Siti_birthday" not in dump and "notes.txt" not in dump


# -- withdrawal ---------------------------------------------------------------------------------
def _rows(db: Path) -> set[str]:
    """Every row of every table but the custody log and stage state (which must grow)."""
    con = sqlite3.connect(db)
    out = set()
    for (table,) in con.execute("select name from sqlite_master where type='table'"):
        if table in ("custody_events", "stage_state"):
            continue
        out |= {f"{table}:{row!r}" for row in con.execute(f'select * from "{table}"')}
    con.close()
    return out


def _secrets(case: Case, tmp_path: Path, export: Path):
    truth = _truth(export)
    person = next(p for p in truth["persons"] if _ids(p, "pii.phone") and _ids(p, "pii.handle"))
    mine = [x for x in truth["media"] if x.get("person") == person["index"] and x.get("path")]
    originals = [export / x["path"] for x in mine if not x.get("derived_from")]
    unposted = _benign_image(tmp_path / "IMG_private.jpg", 7)
    hashes = _hash_file(tmp_path, "hers", [*originals, unposted])
    alias = "Kuntum-QX7Z9W"
    return person, alias, hashes, unposted


def test_withdrawal_leaves_no_trace(tmp_path, export, case):
    person, alias, hashes, unposted = _secrets(case, tmp_path, export)
    db = case.root / "perisai.db"
    rows_before = _rows(db)
    result = add_victim(
        case,
        alias,
        phones=_ids(person, "pii.phone"),
        handles=_ids(person, "pii.handle"),
        ics=_ids(person, "pii.ic"),
        hashes_file=hashes,
    )
    assert result["matches"] > 0
    with case.engine.connect() as conn:
        digests = [r.digest for r in conn.execute(select(m.VICTIM_IDENTIFIERS))]
        values = [r.value for r in conn.execute(select(m.VICTIM_HASHES))]
    own = victim_hash([unposted])["items"][0]
    unique = [own["sha256"], own["md5"], *own["pdq_dihedral"]]
    assert digests and set(unique) <= set(values)
    assert findings(case, "media.victim_match")
    secrets = [alias, *digests, *unique]
    out = withdraw_victim(case, alias)
    assert out["identifiers"] == len(digests) and out["hashes"] == len(values)
    assert out["findings"] > 0 and out["vacuumed"]
    assert list_victims(case) == [] and findings(case, "media.victim_match") == []
    # the database holds exactly what it held before she was registered
    assert _rows(db) == rows_before
    con = sqlite3.connect(db)
    dump = "\n".join(con.iterdump())
    event = con.execute(
        "select body from custody_events where action = 'victim.withdraw'"
    ).fetchone()[0]
    con.close()
    assert json.loads(event) == {
        "victim_id": out["id"],
        "identifiers": out["identifiers"],
        "hashes": out["hashes"],
        "findings": out["findings"],
    }
    raw = b"".join(p.read_bytes() for p in case.root.glob("perisai.db*"))
    for secret in secrets:
        assert secret not in dump, secret
        assert secret.encode() not in raw, secret
    assert verify(case)["ok"]
    # the same value registered again is matched again: withdrawal is not a block list
    add_victim(case, "again", phones=_ids(person, "pii.phone"), match=False)


def test_plain_delete_would_leave_her_bytes(tmp_path, export, case):
    """Control for the test above: without secure_delete and VACUUM the bytes do survive."""
    person, alias, hashes, _ = _secrets(case, tmp_path, export)
    add_victim(case, alias, phones=_ids(person, "pii.phone"), hashes_file=hashes, match=False)
    case.close()
    con = sqlite3.connect(case.root / "perisai.db")
    con.execute("PRAGMA secure_delete=OFF")
    for table in ("victim_identifiers", "victim_hashes", "victims"):
        con.execute(f"delete from {table}")
    con.commit()
    con.close()
    raw = b"".join(p.read_bytes() for p in case.root.glob("perisai.db*"))
    assert alias.encode() in raw


# -- the command line ---------------------------------------------------------------------------
def test_cli_add_list_withdraw(tmp_path, export, case):
    truth = _truth(export)
    person = next(p for p in truth["persons"] if len(_ids(p, "pii.phone")) >= 2)
    phones = _ids(person, "pii.phone")
    photo = next(x for x in truth["media"] if x.get("person") == person["index"])
    hashes = _hash_file(tmp_path, "h", [export / photo["path"]])
    root = str(case.root)
    case.close()
    args = ["victim", "add", root, "--alias", "Melati", "--json", "--hashes", str(hashes)]
    for p in phones:
        args += ["--phone", p]
    r = run_cli(*args, "--handle", _ids(person, "pii.handle")[0])
    assert r.returncode == 0, r.stderr
    added = json.loads(r.stdout)
    assert added["identifiers"] == {"pii.phone": len(phones), "pii.handle": 1}
    r = run_cli("victim", "list", root, "--json")
    assert r.returncode == 0, r.stderr
    people = json.loads(r.stdout)
    assert [p["alias"] for p in people] == ["Melati"]
    p = people[0]
    assert set(p) == {"id", "alias", "registered_utc", "identifiers", "hashes", "matches"}
    assert p["hashes"] == {"images": 1, "videos": 0}
    assert all(set(i) == {"kind", "matched_findings"} for i in p["identifiers"])
    kinds = {x["kind"] for x in p["matches"]}
    assert "media.victim_match" in kinds and "pii.phone" in kinds
    for value in phones:  # never a raw value, in any spelling
        assert value not in r.stdout and value[3:] not in r.stdout
    r = run_cli("victim", "add", root, "--alias", "Mawar", "--phone", "not-a-number")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "--phone 'not-a-number'" in r.stderr
    r = run_cli("victim", "add", root, "--alias", "Melati", "--phone", phones[0])
    assert r.returncode == 2 and "already registered" in r.stderr
    r = run_cli("victim", "withdraw", root, "--alias", "Nobody")
    assert r.returncode == 2 and "no registered person" in r.stderr
    r = run_cli("victim", "withdraw", root, "--alias", "Melati", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == added["id"]
    r = run_cli("victim", "list", root, "--json")
    assert json.loads(r.stdout) == []


def test_reencoded_videos_match_by_vpdq_and_only_their_own(tmp_path):
    pytest.importorskip("av")
    export = tmp_path / "export"
    synth(export, messages=200, photos=0, videos=6, seed=3)
    truth = _truth(export)
    videos = [x for x in truth["media"] if x["kind"] == "video" and x.get("path")]
    originals = [x for x in videos if not x.get("derived_from")]
    reencoded = [x for x in videos if x.get("derived_from")]
    assert reencoded
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    triage(case, workers=1, only="hash")
    for i, x in enumerate(originals):
        add_victim(case, f"v{i}", hashes_file=_hash_file(tmp_path, f"v{i}", [export / x["path"]]))
    by_sha = {x["sha256"]: x for x in videos}
    alias_of = {x["path"]: f"v{i}" for i, x in enumerate(originals)}
    got = {
        (f["detail"]["alias"], by_sha[f["media_sha256"]]["path"], f["detail"]["algorithm"])
        for f in findings(case, "media.victim_match")
        if f["media_sha256"] in by_sha
    }
    expected = {(alias_of[x["path"]], x["path"], "sha256") for x in originals}
    expected |= {(alias_of[x["derived_from"]], x["path"], "vpdq") for x in reencoded}
    assert got == expected
    hit = next(
        f for f in findings(case, "media.victim_match") if f["detail"]["algorithm"] == "vpdq"
    )
    assert hit["detail"]["query_frames_matched_pct"] >= 50 and hit["detail"]["distance"] <= 31


def test_withdrawal_with_another_reader_still_deletes(tmp_path, export, case):
    person, alias, hashes, _ = _secrets(case, tmp_path, export)
    add_victim(case, alias, phones=_ids(person, "pii.phone"), hashes_file=hashes)
    reader = sqlite3.connect(case.root / "perisai.db")
    reader.execute("BEGIN")
    reader.execute("select count(*) from messages").fetchone()
    try:
        out = withdraw_victim(case, alias)
    finally:
        reader.close()
    assert out["vacuumed"] is False and out["hashes"] > 0
    assert list_victims(case) == [] and findings(case, "media.victim_match") == []


def test_registry_on_postgres(tmp_path, pg_url):
    export = tmp_path / "export"
    synth(export, messages=250, photos=12, seed=5)
    truth = _truth(export)
    case = Case.open(tmp_path / "case", db=pg_url)
    assert case.engine.dialect.name == "postgresql"
    ingest(case, export)
    triage(case, workers=1, only="hash,text")
    photo = next(x for x in truth["media"] if x.get("path") and x["kind"] == "photo")
    phone = next(f["value"] for f in findings(case, "pii.phone"))
    added = add_victim(
        case, "pg", phones=[phone], hashes_file=_hash_file(tmp_path, "pg", [export / photo["path"]])
    )
    [person] = list_victims(case)
    kinds = {x["kind"] for x in person["matches"]}
    assert {"pii.phone", "media.victim_match"} <= kinds and added["matches"] == len(
        person["matches"]
    )
    out = withdraw_victim(case, "pg")
    assert out["vacuumed"] is False and out["hashes"] == 10  # sha256, md5, 8 PDQ variants
    assert _state(case)[:3] == (0, 0, 0) and findings(case, "media.victim_match") == []
    assert verify(case)["ok"]
    case.close()

"""At-risk register: recall against synth ground truth, merging, no over-merging, statuses."""

import json

import pytest
from sqlalchemy import select

from perisai.analysis.atrisk import at_risk, normalise_status, set_status
from perisai.case import Case
from perisai.commands.atrisk import plain
from perisai.errors import BadInput
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.store import models as m
from perisai.synth import synth
from perisai.verify import verify
from perisai.victims import identifier_digest

from helpers import msg, run_cli, write_export

KINDS = {"pii.phone", "pii.ic", "pii.email", "pii.handle", "pii.address"}


@pytest.fixture(scope="module")
def synth_case(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    root = tmp_path_factory.mktemp("atrisk")
    synth(root / "export", messages=1500, photos=0, seed=3)
    case = Case.open(root / "case")
    ingest(case, root / "export")
    triage(case, workers=1, only="text,dox")
    truth = json.loads((root / "export" / "ground_truth.json").read_text())
    yield root, case, truth
    mp.undo()


def _truth(truth):
    """Identifier -> the fictional women it was planted for; sets posted together."""
    owners: dict[tuple[str, str], set[int]] = {}
    together = []
    for record in truth["messages"]:
        items = [p for p in record.get("pii", ()) if p["about"] == "victim" and p["kind"] in KINDS]
        by_person: dict[int, set] = {}
        for p in items:
            ident = (p["kind"], p["value"])
            owners.setdefault(ident, set()).add(p["person"])
            by_person.setdefault(p["person"], set()).add(ident)
        together += [s for s in by_person.values() if len(s) > 1]
    return owners, together


def test_register_finds_the_doxxed_women_and_merges_what_was_posted_together(synth_case):
    _, case, truth = synth_case
    register = at_risk(case)
    owners, together = _truth(truth)
    doxxed = {p for people in owners.values() for p in people}
    assert len(doxxed) > 40

    record_of = {}
    found = set()
    for person in register:
        idents = {(i["kind"], i["value"]) for i in person["identifiers"]}
        for ident in idents:
            record_of[ident] = person["id"]
            found |= owners.get(ident, set())
        # No over-merging: every record's planted identifiers share at least one woman.
        planted = [owners[i] for i in idents if i in owners]
        if planted:
            assert set.intersection(*planted), person["identifiers"]
    recall = len(found & doxxed) / len(doxxed)
    assert recall >= 0.95, recall

    # Identifiers planted together (and found by the detectors) land in one record.
    detected = [s for s in together if all(i in record_of for i in s)]
    assert len(detected) >= 0.9 * len(together)
    merged = [s for s in detected if len({record_of[i] for i in s}) == 1]
    assert len(merged) / len(detected) >= 0.95, (len(merged), len(detected))
    phone_and_handle = [s for s in detected if {k for k, _ in s} >= {"pii.phone", "pii.handle"}]
    assert phone_and_handle
    for s in phone_and_handle:
        assert len({record_of[i] for i in s}) == 1, s

    # Sellers' own numbers ("poster") and chat members' mentions never join a woman's record.
    for person in register:
        kinds = [i["kind"] for i in person["identifiers"]]
        assert kinds.count("pii.ic") <= 1
        assert not any(
            i["value"].startswith("telegram:") and i["value"][9:].isdigit()
            for i in person["identifiers"]
        )


def test_register_shape_order_and_determinism(synth_case):
    _, case, _ = synth_case
    register = at_risk(case)
    assert [p["id"] for p in register] == list(range(1, len(register) + 1))
    keys = [
        (p["first_seen"], min((i["kind"], i["value"]) for i in p["identifiers"])) for p in register
    ]
    assert keys == sorted(keys)
    assert at_risk(case) == register
    with case.engine.connect() as conn:
        chat_ids = set(conn.execute(select(m.CHATS.c.tg_id)).scalars())
        user_ids = set(conn.execute(select(m.ACTORS.c.tg_id)).scalars())
    for p in register:
        assert set(p) >= {"id", "identifiers", "occurrences", "chat_ids", "first_seen"}
        assert set(p) >= {"posted_by", "linked_media", "dox_score", "status", "messages"}
        assert p["occurrences"] == len(p["messages"]) >= 1
        assert set(p["chat_ids"]) <= chat_ids and set(p["posted_by"]) <= user_ids
        assert p["first_seen"].endswith("Z") and p["first_seen"] <= p["last_seen"]
        assert p["first_seen"] == p["messages"][0]["date_utc"]
        assert all(x["link"].startswith("https://t.me/c/") for x in p["messages"])
        assert 0.0 <= p["dox_score"] <= 1.0 and p["status"] == "not_contacted"
    labelled = [p for p in register if len(p["identifiers"]) >= 4]
    assert labelled and all(p["dox_score"] >= 0.6 for p in labelled)


def _case(tmp_path, name, messages):
    write_export(tmp_path / name, messages)
    case = Case.open(tmp_path / "case")
    ingest(case, tmp_path / name)
    triage(case, workers=1, only="text,dox")
    return case


def _record(register, kind, value):
    return next(p for p in register if {"kind": kind, "value": value} in p["identifiers"])


def test_one_message_listing_two_women_gives_two_people(tmp_path):
    text = (
        "Nama: Siti Aminah binti Ali\nIC: 990101-14-5678\nNo tel: 012-345 6789\n"
        "IG: @siti.aminah\n\n"
        "Nama: Nurul Huda binti Omar\nIC: 980202-10-1234\nNo tel: 013-987 6543\n"
        "IG: @nurul.huda\n\nspam dia"
    )
    case = _case(tmp_path, "export", [msg(1, text)])
    register = at_risk(case)
    siti = _record(register, "pii.phone", "+60123456789")
    nurul = _record(register, "pii.phone", "+60139876543")
    assert siti["id"] != nurul["id"]
    assert {"kind": "pii.ic", "value": "990101145678"} in siti["identifiers"]
    assert {"kind": "pii.handle", "value": "instagram:siti.aminah"} in siti["identifiers"]
    assert {"kind": "pii.ic", "value": "980202101234"} in nurul["identifiers"]
    assert {"kind": "pii.handle", "value": "instagram:nurul.huda"} in nurul["identifiers"]


def test_a_number_posted_beside_several_women_does_not_join_them(tmp_path):
    messages = [
        msg(1, "awek ni ig @aina.cantik, nak video dia ws 017-222 3333", from_id="user7"),
        msg(2, "minah ni ig @farah.lawa, nak video dia ws 017-222 3333", from_id="user7"),
        msg(3, "budak ni ig @mira.comel, nak video dia ws 017-222 3333", from_id="user7"),
        msg(4, "@abang_jual ada lagi?", from_id="user8"),
    ]
    for i, m_ in enumerate(messages):
        m_["date_unixtime"] = str(1714528800 + 3600 * i)  # separate windows
    case = _case(tmp_path, "export", messages)
    register = at_risk(case)
    ids = {
        _record(register, "pii.handle", f"instagram:{h}")["id"]
        for h in ("aina.cantik", "farah.lawa", "mira.comel")
    }
    assert len(ids) == 3
    number = _record(register, "pii.phone", "+60172223333")
    assert number["occurrences"] == 3 and number["posted_by"] == [7]
    # A bare @mention addresses a chat member: not an exposure.
    values = {i["value"] for p in register for i in p["identifiers"]}
    assert "telegram:abang_jual" not in values


def test_status_is_kept_per_identifier_and_survives_a_merge(tmp_path):
    case = _case(tmp_path, "one", [msg(1, "ni nombor awek tu 012-555 1234 call dia")])
    [person] = at_risk(case)
    assert person["status"] == "not_contacted"
    out = set_status(case, person["id"], "police report made", "PDRM report 123", "cw-1")
    assert out["status"] == "police_report" and out["status_note"] == "PDRM report 123"
    with case.engine.connect() as conn:
        rows = conn.execute(select(m.OUTREACH)).mappings().all()
        event = conn.execute(
            select(m.CUSTODY.c.body).where(m.CUSTODY.c.action == "atrisk.status")
        ).scalar_one()
    digest = identifier_digest(case, "pii.phone", "+60125551234")
    assert [r["digest"] for r in rows] == [digest] and rows[0]["investigator"] == "cw-1"
    assert json.loads(event) == {"person": 1, "status": "police_report", "digests": [digest]}
    assert "+6012" not in event and "PDRM" not in event
    assert verify(case)["ok"]

    # A later export posts her number together with her Instagram: one person, same status.
    later = [
        msg(1, "ni nombor awek tu 012-555 1234 call dia"),
        msg(2, "awek ni ig @yana.x, no dia 012-555 1234 spam dia"),
    ]
    write_export(tmp_path / "two", later)
    ingest(case, tmp_path / "two")
    triage(case, workers=1, only="text,dox")
    [merged] = at_risk(case)
    assert {"kind": "pii.handle", "value": "instagram:yana.x"} in merged["identifiers"]
    assert merged["status"] == "police_report" and merged["occurrences"] == 2
    set_status(case, merged["id"], "closed")
    assert at_risk(case)[0]["status"] == "closed"

    with pytest.raises(BadInput):
        set_status(case, 99, "contacted")
    with pytest.raises(BadInput):
        normalise_status("forgotten")
    assert normalise_status("Not contacted") == "not_contacted"


def test_cli_list_and_status(tmp_path):
    hostile = "Alamat: No. 5, Jalan Ma\u202ewar 3, 43000 Kajang, Selangor <script>x</script>"
    _case(tmp_path, "export", [msg(1, f"awek tu 012-777 8888 ig @lina.x\n{hostile}")])
    case_dir = str(tmp_path / "case")
    out = run_cli("atrisk", "list", case_dir, "--json")
    assert out.returncode == 0, out.stderr
    [person] = json.loads(out.stdout)
    assert {"kind": "pii.handle", "value": "instagram:lina.x"} in person["identifiers"]
    human = run_cli("atrisk", "list", case_dir)
    assert human.returncode == 0 and "+60127778888" in human.stdout
    assert "\u202e" not in human.stdout and "Jalan Ma\\u202ewar 3" in human.stdout
    assert any("\u202e" in i["value"] for i in person["identifiers"])  # JSON keeps the value
    done = run_cli("atrisk", "status", case_dir, str(person["id"]), "--set", "contacted")
    assert done.returncode == 0, done.stderr
    again = json.loads(run_cli("atrisk", "list", case_dir, "--json").stdout)
    assert again[0]["status"] == "contacted"
    bad = run_cli("atrisk", "status", case_dir, "42", "--set", "contacted")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_terminal_text_is_escaped():
    assert plain("a\u202eb<i>\x07\n") == "a\\u202eb<i>\\u0007\\u000a"

"""Hashing and matching: reposts match a list holding the original; CSAM matches leave no bytes."""

import json

import pytest
from sqlalchemy import func, select

from perisai.case import Case
from perisai.findings import findings
from perisai.hashlists import import_list
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.stats import stats
from perisai.store import models as m
from perisai.synth import synth
from perisai.verify import verify

from helpers import run_cli

ROBUST = {"match", "match_after_exif_transpose", "match_after_rgb_conversion", "dihedral"}


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "export"
    synth(out, messages=300, photos=36, seed=5)
    return out


@pytest.fixture
def case(tmp_path, export):
    c = Case.open(tmp_path / "case")
    ingest(c, export)
    triage(c, workers=1, only="hash")
    return c


def _analysis(case):
    with case.engine.connect() as conn:
        return {
            r.sha256: r
            for r in conn.execute(
                select(m.MEDIA_FILES.c.sha256, m.MEDIA_ANALYSIS).join(
                    m.MEDIA_ANALYSIS, m.MEDIA_ANALYSIS.c.media_id == m.MEDIA_FILES.c.id
                )
            )
        }


def test_reposts_match_a_list_of_originals_and_unrelated_do_not(tmp_path, export, case):
    truth = json.loads((export / "ground_truth.json").read_text())
    media = [x for x in truth["media"] if x.get("path") and x["kind"] != "video"]
    derived = [x for x in media if x.get("derived_from")]
    by_path = {x["path"]: x for x in media}
    analysis = _analysis(case)
    some_originals = sorted({x["derived_from"] for x in derived})[:6]
    lines = [f"pdq {analysis[by_path[p]['sha256']].pdq}" for p in some_originals]
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    import_list(case, tmp_path / "list.txt", "ncii-hotline", "ncii")
    triage(case, workers=1)
    matched = {f["media_sha256"] for f in findings(case, "media.match")}
    for x in derived:
        if x["derived_from"] in some_originals and x["pdq_expectation"] in ROBUST:
            assert x["sha256"] in matched, (x["path"], x["transform"])
    unrelated = [x for x in media if not x.get("derived_from") and x["path"] not in some_originals]
    assert unrelated and not any(x["sha256"] in matched for x in unrelated)
    f = findings(case, "media.match")[0]
    assert f["detail"]["list"] == "ncii-hotline" and f["detail"]["algorithm"] == "pdq"
    assert f["source"] == "media" and f["message_id"] is not None
    assert verify(case)["ok"]


def test_csam_match_leaves_no_bytes_but_keeps_the_count(tmp_path, export, case):
    truth = json.loads((export / "ground_truth.json").read_text())
    victim = next(x for x in truth["media"] if x.get("path") and x["kind"] == "photo")
    (tmp_path / "csam.txt").write_text(f"sha256 {victim['sha256']}\n")
    import_list(case, tmp_path / "csam.txt", "hotline-csam", "csam")
    triage(case, workers=1)
    assert not case.vault.has(victim["sha256"])
    assert not list(case.root.rglob(victim["sha256"] + "*"))
    s = stats(case)
    assert s["media"]["quarantined"] == 1 and s["findings"]["media.match"] >= 1
    with case.engine.connect() as conn:
        state = conn.execute(
            select(m.MEDIA_FILES.c.vault_state, m.MEDIA_FILES.c.md5).where(
                m.MEDIA_FILES.c.sha256 == victim["sha256"]
            )
        ).one()
    assert state.vault_state == "quarantined" and state.md5  # hashes stay
    assert verify(case)["ok"]
    assert run_cli("verify", str(case.root)).returncode == 0


def test_bad_list_inputs(tmp_path, case):
    from perisai.errors import BadInput

    (tmp_path / "l.txt").write_text("md5 0123456789abcdef0123456789abcdef\n")
    with pytest.raises(BadInput, match="unknown category"):
        import_list(case, tmp_path / "l.txt", "x", "porn")
    with pytest.raises(BadInput, match="does not exist"):
        import_list(case, tmp_path / "nope.txt", "x", "ncii")
    (tmp_path / "bad.txt").write_text("md5 0123456789abcdef0123456789abcdef\nnot a hash\n")
    before = stats(case)
    with pytest.raises(BadInput, match="bad.txt"):
        import_list(case, tmp_path / "bad.txt", "x", "ncii")
    assert stats(case) == before


def test_withdrawals_remove_hashes_by_value_and_by_id(tmp_path, case):
    from sqlalchemy import func

    h1, h2 = "a" * 32, "b" * 32
    (tmp_path / "first.csv").write_text(f"id,md5\nx1,{h1}\nx2,{h2}\n")
    import_list(case, tmp_path / "first.csv", "stopncii", "ncii")
    (tmp_path / "w.json").write_text(
        '[{"hash": "' + h1 + '", "hashType": "md5", "status": "withdrawn"},'
        ' {"action": "withdraw", "caseId": "x2"}]'
    )
    result = import_list(case, tmp_path / "w.json", "stopncii", "ncii")
    assert result["withdrawn"] == 2 and result["format"] == "stopncii"
    with case.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(m.LIST_HASHES)).scalar()
    assert left == 0


def test_near_duplicates_share_a_cluster_and_unrelated_do_not(export, case):
    triage(case, workers=1, only="group")
    truth = json.loads((export / "ground_truth.json").read_text())
    media = {x["path"]: x for x in truth["media"] if x.get("path") and x["kind"] == "photo"}
    with case.engine.connect() as conn:
        cluster_of = dict(
            conn.execute(
                select(m.MEDIA_FILES.c.sha256, m.CLUSTER_MEMBERS.c.cluster_id).join(
                    m.CLUSTER_MEMBERS, m.CLUSTER_MEMBERS.c.media_id == m.MEDIA_FILES.c.id
                )
            ).all()
        )
    checked = 0
    for x in media.values():
        original = media.get(x.get("derived_from") or "")
        if original and x["pdq_expectation"] in ROBUST and x["sha256"] in cluster_of:
            assert cluster_of[x["sha256"]] == cluster_of[original["sha256"]], x["transform"]
            checked += 1
    assert checked >= 5
    originals = [x for x in media.values() if not x.get("derived_from")]
    assert len({cluster_of[x["sha256"]] for x in originals}) == len(originals)


def test_previews_are_small_grey_and_blurred_and_gone_after_quarantine(tmp_path, export, case):
    import io

    from PIL import Image

    triage(case, workers=1)
    with case.engine.connect() as conn:
        previews = conn.execute(
            select(m.PREVIEWS.c.media_id, m.PREVIEWS.c.sha256, m.MEDIA_FILES.c.sha256).join(
                m.MEDIA_FILES, m.MEDIA_FILES.c.id == m.PREVIEWS.c.media_id
            )
        ).all()
        reps = conn.execute(
            select(func.count()).where(
                m.CLUSTER_MEMBERS.c.media_id == m.CLUSTER_MEMBERS.c.cluster_id
            )
        ).scalar()
    assert previews and len(previews) <= reps  # one per cluster at most
    with Image.open(io.BytesIO(case.vault.read(previews[0][1]))) as im:
        assert im.mode == "L" and max(im.size) <= 256
        assert max(im.getextrema()) - min(im.getextrema()) < 200  # blurred: no hard edges
    _, preview_sha, media_sha = previews[0]
    (tmp_path / "late.txt").write_text(f"sha256 {media_sha}\n")
    import_list(case, tmp_path / "late.txt", "late-csam", "csam")
    triage(case, workers=1)
    assert not case.vault.has(media_sha) and not case.vault.has(preview_sha)
    assert verify(case)["ok"]


def test_cluster_members_know_where_they_were_first_posted(case):
    triage(case, workers=1, only="group")
    with case.engine.connect() as conn:
        rows = conn.execute(select(m.CLUSTER_MEMBERS)).mappings().all()
        first = rows[0]
        posted = conn.execute(
            select(func.min(m.MESSAGES.c.date_utc))
            .join(m.MEDIA_OCCURRENCES, m.MEDIA_OCCURRENCES.c.message_pk == m.MESSAGES.c.id)
            .where(m.MEDIA_OCCURRENCES.c.media_id == first["media_id"])
        ).scalar()
    assert all(r["postings"] >= 1 and r["first_message_pk"] for r in rows)
    assert first["first_posted_utc"] == posted


def test_seal_to_police_key_instead_of_plain_deletion(tmp_path, export, case):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from perisai.seal import unseal

    police = X25519PrivateKey.generate()
    (tmp_path / "police.pub").write_bytes(
        police.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    truth = json.loads((export / "ground_truth.json").read_text())
    victim = next(x for x in truth["media"] if x.get("path") and x["kind"] == "photo")
    original = (export / victim["path"]).read_bytes()
    (tmp_path / "csam.txt").write_text(f"sha256 {victim['sha256']}\n")
    import_list(case, tmp_path / "csam.txt", "hotline-csam", "csam")
    r = run_cli("triage", str(case.root), "--seal-to", str(tmp_path / "police.pub"))
    assert r.returncode == 0, r.stderr
    assert not case.vault.has(victim["sha256"])
    sealed = (case.root / "sealed" / f"{victim['sha256']}.sealed").read_bytes()
    assert original not in sealed
    assert unseal(sealed, victim["sha256"], police) == original
    assert stats(case)["media"]["quarantined"] == 1
    assert verify(case)["ok"]
    (case.root / "sealed" / f"{victim['sha256']}.sealed").write_bytes(sealed[:-1] + b"x")
    assert "sealed file" in verify(case)["problems"][0]


def test_seal_to_needs_an_x25519_key(tmp_path, case):
    (tmp_path / "bad.pub").write_text("not a key")
    r = run_cli("triage", str(case.root), "--seal-to", str(tmp_path / "bad.pub"))
    assert r.returncode == 2 and "bad.pub" in r.stderr


def test_a_decision_covers_the_cluster_and_csam_quarantines_it(tmp_path, export, case):
    from perisai.decisions import decide, decision_for

    triage(case, workers=1, only="group")
    truth = json.loads((export / "ground_truth.json").read_text())
    media = {x["path"]: x for x in truth["media"] if x.get("path") and x["kind"] == "photo"}
    copy = next(
        x for x in media.values() if x.get("derived_from") and x["pdq_expectation"] == "match"
    )
    original = media[copy["derived_from"]]
    result = decide(case, copy["sha256"], "ncii", note="reported by her sister")
    assert result["applies_to"] >= 2
    assert decision_for(case, original["sha256"])["category"] == "ncii"
    result = decide(case, original["sha256"], "csam")
    assert result["quarantined"] == result["applies_to"]
    for sha in (copy["sha256"], original["sha256"]):
        assert not case.vault.has(sha)
    assert verify(case)["ok"]
    r = run_cli("decide", str(case.root), "0" * 64, "--category", "ncii")
    assert r.returncode == 2 and "no file with SHA-256" in r.stderr

"""`perisai victim-hash` from the command line: hashes only, file names only, no case."""

import json
import random

from PIL import Image

from helpers import run_cli


def test_victim_hash_writes_names_and_hashes_only(tmp_path):
    private = tmp_path / "Aisyah private folder"
    private.mkdir()
    Image.linear_gradient("L").convert("RGB").resize((640, 480)).save(private / "IMG_0012.jpg")
    (private / "notes.txt").write_text("not an image")
    out = tmp_path / "hashes.json"
    r = run_cli(
        "victim-hash", str(private / "IMG_0012.jpg"), str(private / "notes.txt"), "-o", str(out)
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["format"] == "perisai-victim-hashes" and doc["version"] == 1
    item = next(i for i in doc["items"] if i["name"] == "IMG_0012.jpg")
    assert len(item["pdq"]) == 64 and len(item["pdq_dihedral"]) == 8
    assert item["pdq_dihedral"][0] == item["pdq"]
    assert "Aisyah" not in out.read_text()


def test_victim_hash_missing_file_is_exit_2(tmp_path):
    r = run_cli("victim-hash", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "o.json"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_victim_hash_output_that_cannot_be_written_is_exit_2_before_hashing(tmp_path):
    photo = tmp_path / "IMG_0001.jpg"
    Image.new("RGB", (64, 48), "white").save(photo)
    for out, says in (
        (tmp_path / "no such folder" / "o.json", "does not exist (the folder for -o)"),
        (tmp_path, "is a folder"),
    ):
        r = run_cli("victim-hash", str(photo), "-o", str(out))
        assert r.returncode == 2, r.stderr
        assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1
    blocked = tmp_path / "taken"
    (blocked / "o.json.tmp").mkdir(parents=True)  # the temporary name is a folder: unwritable
    r = run_cli("victim-hash", str(photo), "-o", str(blocked / "o.json"))
    assert r.returncode == 2 and "cannot write" in r.stderr, r.stderr
    assert not (blocked / "o.json").exists()


def test_local_features_add_regions_and_keypoints_without_pixels(tmp_path):
    from perisai.media.features import unpack
    from perisai.synth.images import make_original

    private = tmp_path / "Aisyah private folder"
    private.mkdir()
    make_original(random.Random(3)).save(private / "IMG_0013.jpg", quality=90)
    out = tmp_path / "hashes.json"
    r = run_cli("victim-hash", str(private / "IMG_0013.jpg"), "-o", str(out), "--local-features")
    assert r.returncode == 0, r.stderr
    item = json.loads(out.read_text())["items"][0]
    assert item["name"] == "IMG_0013.jpg" and "Aisyah" not in out.read_text()
    features = unpack(item["orb"])
    assert 50 <= len(features.descriptors) <= 300  # compact: descriptors, not pictures
    assert out.stat().st_size < 40_000
    plain = tmp_path / "plain.json"
    assert run_cli("victim-hash", str(private / "IMG_0013.jpg"), "-o", str(plain)).returncode == 0
    assert "orb" not in json.loads(plain.read_text())["items"][0]

"""VICS 2.0 and StopNCII JSON: structure, string booleans, withdrawals, hostile JSON."""

from __future__ import annotations

import json

import pytest

from perisai.lists import WITHDRAW_BY_ID, ListFormatError, ListReader, read_list

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"

VICS = {
    "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
    "value": [
        {
            "MediaID": 1,
            "Category": 1,
            "MD5": MD5.upper(),
            "SHA1": SHA1.upper(),
            "PhotoDNA": "AAEC" * 100,
            "IsPrecategorized": "true",
            "IsDistributed": "False",
            "MediaFiles": [{"FileName": "a.jpg", "FilePath": "x/"}],
        },
        {"MediaID": 2, "Category": 0, "PhotoDNA": "AAEC" * 100},
        {"mediaid": 3, "category": 2, "sha256": SHA256},
    ],
}


def write(tmp_path, name, data, bom=False):
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_vics_flat_set(tmp_path):
    path = write(tmp_path, "set.json", VICS, bom=True)
    reader = ListReader(path)
    assert reader.format == "vics"
    records = list(reader)
    assert [(r.algorithm, r.value, r.source_id, r.line) for r in records] == [
        ("md5", MD5, "1", 1),
        ("sha1", SHA1, "1", 1),
        ("sha256", SHA256, "3", 3),
    ]
    assert records[0].extra == {"category": 1, "isprecategorized": True, "isdistributed": False}
    assert records[2].extra == {"category": 2}
    assert reader.skipped == {"ignored hash type": 1}  # PhotoDNA only


def test_vics_nested_media(tmp_path):
    nested = {"odata.metadata": "x", "value": [{"CaseNumber": "C1", "Media": VICS["value"]}]}
    records = list(read_list(write(tmp_path, "n.json", nested), "vics"))
    assert [r.source_id for r in records] == ["1", "1", "3"]


def test_stopncii_array_with_withdrawals(tmp_path):
    data = [
        {"hash": PDQ.upper(), "hashType": "pdq", "quality": 90, "caseId": "c1", "status": "active"},
        {"hash": MD5, "hashType": "MD5", "caseId": "c2", "status": "withdrawn"},
        {"hash": PDQ, "hashType": "pdq", "status": "deleted"},
        {"action": "withdraw", "caseId": "c4"},
        {"hash": PDQ, "deleted": "true"},
    ]
    reader = ListReader(write(tmp_path, "ncii.json", data))
    assert reader.format == "stopncii"
    records = list(reader)
    assert [(r.algorithm, r.withdrawn, r.quality, r.source_id) for r in records] == [
        ("pdq", False, 90, "c1"),
        ("md5", True, None, "c2"),
        ("pdq", True, None, None),
        (WITHDRAW_BY_ID, True, None, "c4"),
        ("pdq", True, None, None),  # no hashType: 64 digits are PDQ for StopNCII
    ]
    assert reader.withdrawn == 4


def test_stopncii_json_lines_and_wrapper(tmp_path):
    lines = "\n".join(json.dumps({"hash": PDQ, "hashType": "pdq"}) for _ in range(3))
    assert len(list(read_list(write(tmp_path, "a.jsonl", lines + "\n")))) == 3
    wrapped = {"status": "ok", "id": "batch-1", "data": [{"hash": MD5, "hashType": "md5"}]}
    assert [r.algorithm for r in read_list(write(tmp_path, "b.json", wrapped))] == ["md5"]


def test_unknown_status_and_bad_hash_name_the_record(tmp_path):
    data = [{"hash": PDQ, "hashType": "pdq"}, {"hash": PDQ, "hashType": "pdq", "status": "??"}]
    with pytest.raises(ListFormatError, match=r"record 2 \(before byte \d+\): status"):
        list(read_list(write(tmp_path, "a.json", data), "stopncii"))
    bad = {"value": [{"MD5": MD5}, {"MD5": "xyz"}]}
    with pytest.raises(ListFormatError, match="record 2 .*md5 'xyz' is not hexadecimal"):
        list(read_list(write(tmp_path, "b.json", bad), "vics"))
    number = [{"hash": 12345, "hashType": "md5"}]
    with pytest.raises(ListFormatError, match="record 1"):
        list(read_list(write(tmp_path, "c.json", number), "stopncii"))


def test_truncated_and_malformed_json(tmp_path):
    text = json.dumps(VICS)
    path = write(tmp_path, "t.json", text[: len(text) // 2])
    with pytest.raises(ListFormatError, match="truncated JSON"):
        list(read_list(path, "vics"))
    bad = write(tmp_path, "m.json", '[{"hash": "' + MD5 + '"}, {"hash" x}]')
    with pytest.raises(ListFormatError, match=r"byte \d+: malformed JSON"):
        list(read_list(bad, "stopncii"))


def test_hostile_json_is_refused_quickly(tmp_path):
    deep = write(tmp_path, "deep.json", "[" * 200_000)
    with pytest.raises(ListFormatError, match="nested deeper"):
        list(read_list(deep, "stopncii"))
    long_string = write(tmp_path, "s.json", '[{"hash": "' + "a" * (3 << 20) + '"}]')
    with pytest.raises(ListFormatError, match="longer than"):
        list(read_list(long_string, "stopncii"))
    escaped = write(tmp_path, "e.json", '[{"hash": "' + ('\\"' + "a" * 60_000) * 40 + '"}]')
    with pytest.raises(ListFormatError, match="longer than"):
        list(read_list(escaped, "stopncii"))
    wide = write(tmp_path, "w.json", json.dumps({f"k{i}": i for i in range(5000)}))
    with pytest.raises(ListFormatError, match="over 1000 fields"):
        list(read_list(wide, "vics"))

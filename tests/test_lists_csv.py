"""CSV hash lists: header names, several hashes a row, delimiters, BOM, statuses, errors."""

from __future__ import annotations

import pytest

from perisai.lists import WITHDRAW_BY_ID, ListFormatError, ListReader, read_list

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def write(tmp_path, name, text, bom=False):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_one_record_per_hash_with_shared_fields(tmp_path):
    path = write(
        tmp_path,
        "l.csv",
        f"ID,MD5,SHA256,PDQ_Hash,Quality,Category,Series\n"
        f"7,{MD5.upper()},{SHA256},{PDQ},90,2,beach\n",
    )
    records = list(read_list(path))
    assert [(r.algorithm, r.value) for r in records] == [
        ("md5", MD5),
        ("sha256", SHA256),
        ("pdq", PDQ),
    ]
    assert {r.source_id for r in records} == {"7"}
    assert [r.quality for r in records] == [None, None, 90]  # quality belongs to PDQ
    assert records[0].extra == {"category": "2", "series": "beach"}
    assert {r.line for r in records} == {2}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_sniffing_bom_and_crlf(tmp_path, delimiter):
    d = delimiter
    text = f"pdq{d}quality{d}id\r\n{PDQ}{d}80{d}a\r\n{PDQ.upper()}{d}{d}b\r\n"
    path = write(tmp_path, "l.csv", text, bom=True)
    records = list(read_list(path, "csv"))
    assert [(r.value, r.quality, r.source_id) for r in records] == [
        (PDQ, 80, "a"),
        (PDQ, None, "b"),
    ]


def test_hash_and_type_columns_and_empty_cells(tmp_path):
    path = write(
        tmp_path,
        "l.csv",
        f"# exported 2024-05-01\nhash,hash_type,md5\n{PDQ},pdq,\n{SHA1},,\n,,{MD5}\n,,\n",
    )
    reader = ListReader(path)
    assert reader.format == "csv"
    assert [(r.algorithm, r.line) for r in reader] == [("pdq", 3), ("sha1", 4), ("md5", 5)]


def test_statuses_and_withdrawal_by_id(tmp_path):
    path = write(
        tmp_path,
        "l.csv",
        f"id,md5,status\n1,{MD5},active\n2,{MD5},Withdrawn\n3,,deleted\n",
    )
    records = list(read_list(path))
    assert [(r.algorithm, r.withdrawn, r.source_id) for r in records] == [
        ("md5", False, "1"),
        ("md5", True, "2"),
        (WITHDRAW_BY_ID, True, "3"),
    ]


def test_unknown_status_is_an_error(tmp_path):
    path = write(tmp_path, "l.csv", f"md5,status\n{MD5},maybe\n")
    with pytest.raises(ListFormatError, match="line 2: status 'maybe'"):
        list(read_list(path))


def test_errors_name_the_line(tmp_path):
    path = write(tmp_path, "l.csv", f"md5,id\n{MD5},1\n{MD5[:-2]},2\n")
    with pytest.raises(ListFormatError, match=r"l\.csv: line 3: md5 .* 30 hex digits"):
        list(read_list(path))
    wide = write(tmp_path, "w.csv", f"md5,id\n{MD5},1,extra\n")
    with pytest.raises(ListFormatError, match="line 2: 3 fields, but the header names 2"):
        list(read_list(wide))


def test_header_without_hash_column(tmp_path):
    path = write(tmp_path, "l.csv", "name,size\na,1\n")
    with pytest.raises(ListFormatError, match="line 1: the header names no hash column"):
        list(read_list(path))


def test_multiline_quoted_field_keeps_line_numbers(tmp_path):
    path = write(tmp_path, "l.csv", f'md5,note\n{MD5},"two\nlines"\n{MD5},x\nbad,y\n')
    records = []
    with pytest.raises(ListFormatError, match="line 5"):
        for record in read_list(path):
            records.append(record)
    assert [r.line for r in records] == [3, 4]
    assert records[0].extra == {"note": "two\nlines"}


def test_unterminated_quote_is_bounded(tmp_path):
    path = write(tmp_path, "l.csv", 'md5,note\n"' + ("x" * 1000 + "\n") * 300)
    with pytest.raises(ListFormatError, match="malformed CSV"):
        list(read_list(path))

"""Format detection, the exchange writers (round trips), and streaming a large list lazily."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from perisai.lists import (
    CATEGORIES,
    HashRecord,
    ListFormatError,
    ListReader,
    detect_format,
    parse_category,
    read_list,
    write_csv,
    write_txt,
)

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.txt", f"# list\n{MD5}\n", "txt"),
        ("a.csv", f"{MD5}\n", "txt"),  # no header: a one-column list of hashes
        ("a.dat", f"md5;id\n{MD5};1\n", "csv"),
        ("a.csv", "name,size\n", "csv"),  # the CSV reader then says what the header lacks
        ("a.txt", "\ufeff  \n<list/>", "ncmec"),
        ("a.json", '{"@odata.context": "x", "value": []}', "vics"),
        ("a.json", f'[{{"MD5": "{MD5}", "MediaID": 1}}]', "vics"),
        ("a.json", f'[{{"hash": "{PDQ}", "hashType": "pdq"}}]', "stopncii"),
        ("a.jsonl", f'{{"hash": "{PDQ}"}}\n', "stopncii"),
        ("empty.txt", "", "txt"),
    ],
)
def test_detect_format(tmp_path, name, data, fmt):
    path = tmp_path / name
    path.write_text(data, encoding="utf-8")
    assert detect_format(path) == fmt


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x1f\x8b\x08\x00", "gzip archive"),
        (b"PK\x03\x04rest", "zip archive"),
        ("md5\n".encode("utf-16"), "UTF-16"),
        (b"abc\0def", "binary data"),
    ],
)
def test_detect_refuses_what_no_reader_takes(tmp_path, data, message):
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    with pytest.raises(ListFormatError, match=message):
        detect_format(path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown list format"):
        read_list(tmp_path / "x", "xlsx")
    with pytest.raises(ListFormatError, match="no such file"):
        read_list(tmp_path / "missing.txt")
    assert parse_category(" NCII ") == "ncii" and "benign" in CATEGORIES
    with pytest.raises(ValueError, match="unknown category"):
        parse_category("spam")


def test_error_is_bad_input_and_value_error(tmp_path):
    from perisai.errors import BadInput

    path = tmp_path / "x.txt"
    path.write_text("junk\n")
    with pytest.raises(BadInput) as info:
        list(read_list(path))
    assert isinstance(info.value, ValueError) and info.value.where == "line 1"


def records():
    yield HashRecord("pdq", PDQ, quality=90, source_id="a")
    yield HashRecord("md5", MD5)
    yield HashRecord("pdq", PDQ.replace("f", "0"), withdrawn=True)
    yield HashRecord("id", "gone", withdrawn=True, source_id="gone")


def test_write_txt_round_trip(tmp_path):
    path = tmp_path / "out.txt"
    assert write_txt(records(), path) == 2
    assert path.read_text() == f"pdq {PDQ}\nmd5 {MD5}\n"
    assert [(r.algorithm, r.value) for r in read_list(path)] == [("pdq", PDQ), ("md5", MD5)]
    bare = tmp_path / "export-pdq.txt"
    write_txt((r for r in records() if r.algorithm == "pdq"), bare, typed=False)
    assert [r.algorithm for r in read_list(bare)] == ["pdq"]  # the name says pdq


def test_write_csv_round_trip(tmp_path):
    path = tmp_path / "out.csv"
    assert write_csv(records(), path, algorithms=["pdq"]) == 1
    assert path.read_text() == f"pdq,quality,id\n{PDQ},90,a\n"
    assert list(read_list(path))[0].quality == 90
    full = tmp_path / "full.csv"
    assert write_csv(records(), full, include_withdrawn=True) == 3
    back = list(read_list(full))
    assert [(r.algorithm, r.withdrawn) for r in back] == [
        ("pdq", False),
        ("md5", False),
        ("pdq", True),
    ]


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "out.txt"

    def broken():
        yield HashRecord("md5", MD5)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_txt(broken(), path)
    assert list(tmp_path.iterdir()) == []


N = 100_000


def test_large_list_streams_lazily(tmp_path):
    path = tmp_path / "big-pdq.txt"
    with path.open("w") as fh:
        for i in range(N):
            fh.write(f"{i:064x}\n")
    tracemalloc.start()
    try:
        stream = read_list(path)
        first = next(stream)
        _, peak_after_first = tracemalloc.get_traced_memory()
        count = 1 + sum(1 for _, _ in zip(range(20_000), stream, strict=False))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    count += sum(1 for _ in stream)  # the rest untraced: tracing makes it slow
    assert first.algorithm == "pdq" and first.line == 1 and count == N
    assert peak_after_first < 1 << 20  # one record read, not the file
    assert peak < 2 << 20  # 20k records alone would be several MB if held


@pytest.mark.parametrize("fmt", ["csv", "stopncii", "ncmec"])
def test_large_structured_lists_stream_lazily(tmp_path, fmt):
    n = N // 5
    path = tmp_path / f"big.{fmt}"
    with path.open("w") as fh:
        if fmt == "csv":
            fh.write("md5,id\n")
            fh.writelines(f"{i:032x},{i}\n" for i in range(n))
        elif fmt == "stopncii":
            fh.writelines(
                json.dumps({"hash": f"{i:032x}", "hashType": "md5"}) + "\n" for i in range(n)
            )
        else:
            fh.write("<list>")
            fh.writelines(f"<file><id>{i}</id><md5>{i:032x}</md5></file>\n" for i in range(n))
            fh.write("</list>")
    reader = ListReader(path)
    assert reader.format == fmt
    stream = iter(reader)
    next(stream)
    assert reader.records == 1  # nothing read ahead beyond a chunk's worth of records
    assert 1 + sum(1 for _ in stream) == n and reader.by_algorithm == {"md5": n}

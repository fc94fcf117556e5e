"""Plain-text hash lists: typed and bare lines, directives, BOM/CRLF, errors with line numbers."""

from __future__ import annotations

import pytest

from perisai.lists import HashRecord, ListFormatError, ListReader, read_list

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def pairs(path, fmt="txt", **kw):
    return [(r.algorithm, r.value) for r in read_list(path, fmt, **kw)]


def test_typed_lines_comments_and_blank_lines(tmp_path):
    path = write(
        tmp_path,
        "list.txt",
        f"# a comment\n\nmd5 {MD5}\nsha1\t{SHA1}\nsha256 {SHA256}\npdq {PDQ}\npdq:{PDQ}\n"
        f"SHA256:{SHA256}\nmd5: {MD5}\n",
    )
    assert pairs(path) == [
        ("md5", MD5),
        ("sha1", SHA1),
        ("sha256", SHA256),
        ("pdq", PDQ),
        ("pdq", PDQ),
        ("sha256", SHA256),
        ("md5", MD5),
    ]


def test_bare_hashes_by_length_and_64_is_sha256(tmp_path):
    path = write(tmp_path, "list.txt", f"{MD5}\n{SHA1}\n{SHA256}\n")
    assert [a for a, _ in pairs(path)] == ["md5", "sha1", "sha256"]


def test_pdq_directive_section_and_file_name(tmp_path):
    directive = write(tmp_path, "a.txt", f"{SHA256}\n# type: pdq\n{PDQ}\n# type: auto\n{MD5}\n")
    assert [a for a, _ in pairs(directive)] == ["sha256", "pdq", "md5"]
    section = write(tmp_path, "b.txt", f"[pdq]\n{PDQ}\n[md5]\n{MD5}\n")
    assert [a for a, _ in pairs(section)] == ["pdq", "md5"]
    named = write(tmp_path, "ncii-pdq-2024.txt", f"{PDQ}\n{MD5}\n")
    assert [a for a, _ in pairs(named)] == ["pdq", "md5"]
    assert [a for a, _ in pairs(directive, bare64="pdq")][0] == "pdq"


def test_declared_type_is_strict(tmp_path):
    path = write(tmp_path, "a.txt", f"# type: pdq\n{PDQ}\n{MD5}\n")
    with pytest.raises(ListFormatError, match=r"a\.txt: line 3: pdq .* expected 64"):
        list(read_list(path, "txt"))


def test_bom_crlf_and_mixed_case(tmp_path):
    path = write(
        tmp_path, "l.txt", b"\xef\xbb\xbf" + f"MD5 {MD5.upper()}\r\n{SHA1.upper()}\r\n".encode()
    )
    records = list(read_list(path))
    assert [(r.algorithm, r.value, r.line) for r in records] == [("md5", MD5, 1), ("sha1", SHA1, 2)]


def test_quality_and_checksum_output(tmp_path):
    path = write(tmp_path, "l.txt", f"pdq {PDQ} 87\n{SHA256}  photos/a b.jpg\n{MD5} *bin.mp4\n")
    a, b, c = read_list(path)
    assert a.quality == 87 and a.extra is None
    assert b.extra == {"name": "photos/a b.jpg"}
    assert c.extra == {"name": "bin.mp4"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("zz" * 16, "is neither a hash nor a comment"),
        ("abc123", "is not a hash: 6 characters"),
        (f"md5 {SHA1}", "has 40 hex digits, expected 32"),
        (f"md5 {MD5[:-1]}g", "is not hexadecimal"),
        (f"sha512 {SHA256}", "unknown hash type"),
        (f"vpdq {PDQ}", "not supported yet"),
        (f"pdq {PDQ} 101", "quality"),
    ],
)
def test_bad_lines_name_the_line(tmp_path, line, message):
    path = write(tmp_path, "bad.txt", f"# header\n{MD5}\n{line}\n")
    with pytest.raises(ListFormatError, match=message) as info:
        list(read_list(path, "txt"))
    assert str(info.value).startswith(f"{path}: line 3: ")


def test_records_before_an_error_are_yielded(tmp_path):
    path = write(tmp_path, "bad.txt", f"{MD5}\nnope\n")
    stream = read_list(path, "txt")
    assert next(stream).value == MD5
    with pytest.raises(ListFormatError, match="line 2"):
        next(stream)


def test_gigantic_line_is_refused_without_reading_it_all(tmp_path):
    path = write(tmp_path, "big.txt", f"{MD5}\n" + "a" * (5 << 20))
    with pytest.raises(ListFormatError, match="line 2: longer than 65536 bytes"):
        list(read_list(path, "txt"))


def test_not_utf8_and_nul(tmp_path):
    with pytest.raises(ListFormatError, match="line 2: not UTF-8"):
        list(read_list(write(tmp_path, "a.txt", f"{MD5}\n\xff\n".encode("latin-1")), "txt"))
    with pytest.raises(ListFormatError, match="line 1: NUL"):
        list(read_list(write(tmp_path, "b.txt", b"ab\0cd\n"), "txt"))


def test_photodna_lines_are_skipped_and_counted(tmp_path):
    path = write(tmp_path, "l.txt", f"photodna AAAA\n{MD5}\n")
    reader = ListReader(path, "txt")
    assert [r.value for r in reader] == [MD5]
    assert reader.skipped == {"ignored hash type": 1} and reader.records == 1


def test_record_validates_itself():
    with pytest.raises(ValueError):
        HashRecord("md5", MD5.upper())
    with pytest.raises(ValueError):
        HashRecord("pdq", PDQ, quality=101)
    with pytest.raises(ValueError):
        HashRecord("id", "x")  # an id-only record must be a withdrawal
    assert HashRecord("id", "case-1", withdrawn=True).value == "case-1"

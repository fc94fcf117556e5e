"""NCMEC hash-sharing XML: entries, deletions, namespaces, and hostile XML refused."""

from __future__ import annotations

import time

import pytest

from perisai.lists import WITHDRAW_BY_ID, ListFormatError, ListReader, read_list

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"

ENTRIES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
  <images count="3">
    <image>
      <member id="42">Example Member</member>
      <id>image1</id>
      <classification>A1</classification>
      <fingerprints>
        <md5>{MD5.upper()}</md5>
        <sha1>{SHA1}</sha1>
        <pdna>AAAA</pdna>
      </fingerprints>
    </image>
    <image><id>image2</id><fingerprints><pdna>AAAA</pdna></fingerprints></image>
    <deletedImage><member id="43">M2</member><id>image4</id></deletedImage>
  </images>
  <videos>
    <video><id>v1</id><fingerprints><md5>{MD5}</md5>
      <tmk-pdqf rel="self" href="/v2/entries/1/fingerprints/TMK_PDQF"/></fingerprints></video>
  </videos>
</queryResult>
"""


def write(tmp_path, name, text, bom=False):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_ncmec_entries_and_deletions(tmp_path):
    reader = ListReader(write(tmp_path, "entries.xml", ENTRIES, bom=True))
    assert reader.format == "ncmec"
    records = list(reader)
    assert [(r.algorithm, r.value, r.withdrawn, r.source_id) for r in records] == [
        ("md5", MD5, False, "image1"),
        ("sha1", SHA1, False, "image1"),
        (WITHDRAW_BY_ID, "image4", True, "image4"),
        ("md5", MD5, False, "v1"),
    ]
    assert records[0].extra == {"member": "Example Member", "classification": "A1"}
    assert records[0].line == 4
    assert reader.skipped == {"ignored hash type": 1}


def test_simple_files_prefixes_flags_and_root_level_hashes(tmp_path):
    text = (
        '<h:list xmlns:h="urn:x"><h:file id="f1"><h:md5>'
        + MD5
        + "</h:md5><h:pdq>"
        + PDQ
        + "</h:pdq><h:quality>95</h:quality></h:file>"
        + "<file><sha1>"
        + SHA1
        + "</sha1><deleted>true</deleted></file>"
        + "<md5>"
        + MD5
        + "</md5></h:list>"
    )
    records = list(read_list(write(tmp_path, "x.xml", text)))
    assert [(r.algorithm, r.withdrawn, r.quality, r.source_id) for r in records] == [
        ("md5", False, None, "f1"),
        ("pdq", False, 95, "f1"),
        ("sha1", True, None, None),
        ("md5", False, None, None),
    ]


def test_bad_hash_names_the_line(tmp_path):
    text = f"<r>\n<file><md5>{MD5}</md5></file>\n<file>\n<md5>nothex</md5></file></r>"
    with pytest.raises(ListFormatError, match=r"x\.xml: line 3: md5 'nothex'"):
        list(read_list(write(tmp_path, "x.xml", text), "ncmec"))


def test_truncated_and_malformed(tmp_path):
    with pytest.raises(ListFormatError, match="line 9 .*ends mid-document"):
        list(read_list(write(tmp_path, "t.xml", ENTRIES[:300]), "ncmec"))
    with pytest.raises(ListFormatError, match="line 1 column 9: malformed XML: mismatched tag"):
        list(read_list(write(tmp_path, "m.xml", "<a><b></a>"), "ncmec"))


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<list><file><md5>&lol9;</md5></file></list>
"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE list [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<list><file><md5>&x;</md5></file></list>
"""


@pytest.mark.parametrize(
    "text", [BILLION_LAUGHS, EXTERNAL, '<!DOCTYPE list SYSTEM "x.dtd"><list/>']
)
def test_doctype_and_entities_are_refused(tmp_path, text):
    started = time.monotonic()
    with pytest.raises(ListFormatError, match="DOCTYPE refused"):
        list(read_list(write(tmp_path, "evil.xml", text)))
    assert time.monotonic() - started < 1


def test_gigantic_text_and_tokens_are_refused(tmp_path):
    text = "<list><file><md5>" + "a" * 100_000 + "</md5></file></list>"
    with pytest.raises(ListFormatError, match="text longer than 4096"):
        list(read_list(write(tmp_path, "t.xml", text)))
    tag = "<list><file " + "a" * (3 << 20) + '="1"/></list>'
    with pytest.raises(ListFormatError, match="runs past"):
        list(read_list(write(tmp_path, "g.xml", tag)))

"""Every real export in the shared corpus ingests, with the counts its README lists."""

import json

import pytest
from sqlalchemy import select

from perisai.case import Case
from perisai.ingest.telegram_export import ingest
from perisai.stats import stats
from perisai.store import models as m
from perisai.verify import verify

COUNTS = {
    "01_": 13,
    "02_": 19,
    "03_": 193,
    "04_": 5,
    "05_": 213,
    "06_": 8,
    "07_": 256,
    "08_": 924,
}


def _file(corpus, prefix):
    return next(corpus.glob(prefix + "*.json"))


@pytest.mark.parametrize("prefix", sorted(COUNTS))
def test_each_export_ingests_with_its_count(tmp_path, corpus, prefix):
    case = Case.open(tmp_path / "case")
    path = _file(corpus, prefix)
    result = ingest(case, path)
    s = stats(case)
    assert s["messages"] == COUNTS[prefix]
    assert result["messages_new"] == COUNTS[prefix]
    # The media folders were not committed: every reference is missing or a placeholder.
    refs = 0
    for message in json.loads(path.read_text("utf-8"))["messages"]:
        refs += sum(isinstance(message.get(k), str) for k in ("photo", "file", "thumbnail"))
    assert s["media"]["missing"] + s["media"]["placeholders"] == refs
    assert s["media"]["files"] == 0
    assert verify(case)["ok"]


def test_one_channel_in_two_eras_is_one_chat(tmp_path, corpus):
    case = Case.open(tmp_path / "case")
    ingest(case, _file(corpus, "01_"))
    second = ingest(case, _file(corpus, "02_"))
    s = stats(case)
    assert s["chats"] == 1
    ids_01 = {x["id"] for x in json.loads(_file(corpus, "01_").read_text())["messages"]}
    ids_02 = {x["id"] for x in json.loads(_file(corpus, "02_").read_text())["messages"]}
    assert s["messages"] == len(ids_01 | ids_02)
    assert second["messages_unchanged"] == len(ids_01 & ids_02)
    with case.engine.connect() as conn:
        chat = conn.execute(select(m.Chat)).one()
        assert (chat.tg_id, chat.kind, chat.marked_id) == (1292077344, "channel", -1001292077344)
        actors = conn.execute(select(m.Actor.key)).scalars().all()
    assert actors == ["channel:1292077344"]
    assert verify(case)["ok"]


def test_adversarial_export_is_flagged(tmp_path, corpus):
    case = Case.open(tmp_path / "case")
    ingest(case, _file(corpus, "07_"))
    with case.engine.connect() as conn:
        rows = conn.execute(select(m.Message.dup_index, m.Message.flags)).all()
    assert sorted(d for d, _ in rows) == list(range(256))
    assert sum("duplicate_id" in f for _, f in rows) == 255
    assert all("bad_date_unixtime" in f for _, f in rows)


def test_whole_corpus_in_one_case(tmp_path, corpus):
    case = Case.open(tmp_path / "case")
    for prefix in sorted(COUNTS):
        ingest(case, _file(corpus, prefix))
    s = stats(case)
    assert s["chats"] == 7
    assert s["messages"] == sum(COUNTS.values()) - 13  # 01 is contained in 02
    assert verify(case)["ok"]

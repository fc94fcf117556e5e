"""Full-account exports: chats are ingested; the investigator's own data never is."""

import json
import sqlite3

from perisai.case import Case
from perisai.ingest.telegram_export import ingest
from perisai.stats import stats
from perisai.verify import verify

from helpers import msg

SECRET_PHONE = "+60 19-999 0000"


def _export(root):
    root.mkdir()
    doc = {
        "about": "Here is the data you requested.",
        "personal_information": {
            "user_id": 777,
            "first_name": "Investigator",
            "phone_number": SECRET_PHONE,
        },
        "contacts": {"list": [{"first_name": "Friend", "phone_number": "+60 11-111 1111"}]},
        "frequent_contacts": {"list": [{"id": 5, "name": "Friend"}]},
        "sessions": {"list": [{"ip": "203.0.113.9", "device": "Laptop"}]},
        "chats": {
            "about": "This page lists all chats from this export.",
            "list": [
                {
                    "name": "Group A",
                    "type": "private_supergroup",
                    "id": 1700000001,
                    "messages": [msg(1, photo="chats/chat_001/photos/p.jpg"), msg(2)],
                },
                {"name": "Empty", "type": "private_group", "id": 42, "messages": []},
                {
                    "name": "Group B",
                    "type": "private_group",
                    "id": 43,
                    "messages": [msg(5, from_id="user1"), msg(6, from_id="user2")],
                },
            ],
        },
        "left_chats": {
            "list": [
                {
                    "name": "Old group",
                    "type": "private_supergroup",
                    "id": 1700000002,
                    "messages": [msg(9), msg(10)],
                }
            ]
        },
    }
    (root / "result.json").write_text(json.dumps(doc))
    (root / "chats" / "chat_001" / "photos").mkdir(parents=True)
    (root / "chats" / "chat_001" / "photos" / "p.jpg").write_bytes(b"\xff\xd8\xff" + b"1" * 50)
    return root


def test_chats_in_and_personal_data_out(tmp_path):
    case = Case.open(tmp_path / "case")
    result = ingest(case, _export(tmp_path / "DataExport_2024-05-01"))
    assert result["shape"] == "full_account"
    assert [c["chat_id"] for c in result["chats"]] == [1700000001, 42, 43, 1700000002]
    assert [c.get("messages", 0) for c in result["chats"]] == [2, 0, 2, 2]
    s = stats(case)
    assert s["chats"] == 4 and s["messages"] == 6 and s["media"]["files"] == 1
    # One sender in a group: the export may hold only the exporter's own messages.
    assert any("1700000002" in w and "one sender" in w for w in result["warnings"])
    dump = "\n".join(sqlite3.connect(case.root / "perisai.db").iterdump())
    for secret in (SECRET_PHONE, "+60 11-111 1111", "203.0.113.9", "Investigator"):
        assert secret not in dump
    assert verify(case)["ok"]

"""Live collection: Telethon objects built offline, a fake read-only client, the real store.

No test here touches the network: Telethon objects are plain TL constructors, the one real
`TelegramClient` is built with a StringSession and never connected.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from telethon import TelegramClient, errors, utils
from telethon.sessions import StringSession
from telethon.tl import types

from perisai.case import Case
from perisai.collect.client import (
    READ_METHODS,
    ReadOnlyClient,
    decrypt_session,
    encrypt_session,
    parse_chat,
    resolve_chat,
)
from perisai.collect.collector import Options, collect
from perisai.collect.mapping import NOT_INCLUDED, TOO_BIG, json_safe, text_pieces
from perisai.errors import BadInput
from perisai.ingest.telegram_export import ingest
from perisai.stats import stats
from perisai.store import models as m
from perisai.synth import synth
from perisai.verify import verify

CH = 1987654321
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_TC = TelegramClient(StringSession(), 1, "0" * 32)  # never connected: only _finish_init needs it


def user(uid: int, first: str, last: str | None = None, username: str | None = None, **kw):
    return types.User(
        id=uid, first_name=first, last_name=last, username=username, access_hash=uid, **kw
    )


def channel(cid: int = CH, title: str = "Geng Test", **kw: Any) -> types.Channel:
    return types.Channel(
        id=cid,
        title=title,
        photo=types.ChatPhotoEmpty(),
        date=T0,
        access_hash=1,
        megagroup=True,
        **kw,
    )


def finish(msg: Any, entities: list[Any]) -> Any:
    """What Telethon does with a server answer: attach the users and chats it came with."""
    msg._finish_init(_TC, {utils.get_peer_id(e): e for e in entities}, None)
    return msg


def tmsg(mid: int, text: str = "", uid: int | None = 100, when: datetime | None = None, **kw):
    return types.Message(
        id=mid,
        peer_id=types.PeerChannel(CH),
        date=when or T0 + timedelta(minutes=mid),
        message=text,
        from_id=types.PeerUser(uid) if uid is not None else None,
        **kw,
    )


def tservice(mid: int, action: Any, uid: int = 100, **kw: Any) -> types.MessageService:
    return types.MessageService(
        id=mid,
        peer_id=types.PeerChannel(CH),
        date=T0 + timedelta(minutes=mid),
        action=action,
        from_id=types.PeerUser(uid),
        **kw,
    )


def photo(pid: int) -> types.MessageMediaPhoto:
    size = types.PhotoSize(type="y", w=640, h=480, size=5000 + pid)
    return types.MessageMediaPhoto(
        photo=types.Photo(
            id=pid,
            access_hash=1,
            file_reference=b"\x00ref",
            date=T0,
            sizes=[size],
            dc_id=2,
        )
    )


def document(did: int, size: int, mime: str = "video/mp4") -> types.MessageMediaDocument:
    return types.MessageMediaDocument(
        document=types.Document(
            id=did,
            access_hash=1,
            file_reference=b"r",
            date=T0,
            mime_type=mime,
            size=size,
            dc_id=2,
            attributes=[types.DocumentAttributeVideo(duration=12, w=320, h=240)],
        )
    )


def png(seed: int) -> bytes:
    """A benign generated image, different per seed."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), ((seed * 40) % 256, (seed * 90) % 256, 120)).save(buf, "PNG")
    return buf.getvalue()


class FakeClient:
    """Implements the wrapper's read methods from in-memory lists; records every call."""

    def __init__(self, chat: Any, messages: list[Any], users: list[Any] = ()) -> None:
        self.chat = chat
        self.messages = {msg.id: msg for msg in messages}
        self.users = list(users)
        self.admins: set[int] = set()
        self.calls: list[tuple[str, Any]] = []
        # method -> [(after n items, seconds of FloodWait or an error to raise)]
        self.floods: dict[str, list[tuple[int, Any]]] = {}
        self.download_errors: dict[int, Exception] = {}
        self.participants_error: Exception | None = None

    def _flood(self, method: str, served: int) -> None:
        queue = self.floods.get(method) or []
        if queue and queue[0][0] == served:
            seconds = queue.pop(0)[1]
            if isinstance(seconds, Exception):
                raise seconds
            raise errors.FloodWaitError(request=None, capture=seconds)

    def iter_messages(self, entity, min_id=0, reverse=False, offset_date=None):
        self.calls.append(("iter_messages", {"min_id": min_id, "offset_date": offset_date}))
        assert reverse, "the collector reads oldest to newest"
        served = 0
        for mid in sorted(self.messages):
            msg = self.messages[mid]
            if mid <= min_id or (offset_date and msg.date < offset_date):
                continue
            self._flood("iter_messages", served)
            served += 1
            yield msg

    def get_messages(self, entity, ids):
        self.calls.append(("get_messages", list(ids)))
        self._flood("get_messages", 0)
        return [self.messages.get(i) for i in ids]

    def get_entity(self, ref):
        self.calls.append(("get_entity", ref))
        if ref in ("nosuchgroup",):
            raise ValueError("No user has 'nosuchgroup' as username")
        return self.chat

    def iter_dialogs(self):
        return iter(())

    def iter_participants(self, entity, filter=None):  # noqa: A002 - Telethon's name
        self.calls.append(("iter_participants", type(filter).__name__))
        if self.participants_error:
            raise self.participants_error
        admins = isinstance(filter, types.ChannelParticipantsAdmins)
        for u in self.users:
            if admins and u.id not in self.admins:
                continue
            if u.id in self.admins:
                u.participant = types.ChannelParticipantAdmin(
                    user_id=u.id,
                    promoted_by=u.id,
                    date=T0,
                    admin_rights=types.ChatAdminRights(),
                )
            yield u

    def download_media(self, message, file):
        self.calls.append(("download_media", message.id))
        self._flood("download_media", 0)
        if message.id in self.download_errors:
            raise self.download_errors[message.id]
        path = Path(file + ".png")
        path.write_bytes(png(message.id))
        return str(path)

    # Write methods a real client has: the wrapper must never reach them.
    def send_message(self, *a, **k):  # pragma: no cover
        raise AssertionError("send_message reached")

    def send_read_acknowledge(self, *a, **k):  # pragma: no cover
        raise AssertionError("read acknowledge reached")


def run(case: Case, fake: FakeClient, **kw: Any) -> tuple[dict[str, Any], list[str], list[float]]:
    lines: list[str] = []
    slept: list[float] = []
    opts = Options(**{k: v for k, v in kw.items() if k in Options.__dataclass_fields__})
    result = collect(
        case,
        ReadOnlyClient(fake),
        kw.get("chat", "@gengtest"),
        opts,
        progress=lines.append,
        sleep=slept.append,
        now=lambda: datetime(2025, 4, 1, 9, 30),
    )
    return result, lines, slept


def rows(case: Case, table: Any, *where: Any) -> list[Any]:
    with case.engine.connect() as conn:
        return conn.execute(select(table).where(*where)).all()


def people() -> list[Any]:
    return [
        user(100, "Tokey", "Besar", username="tokey_b"),
        user(200, "Shadow"),
        user(201, "Abg", "Jo"),
        user(202, "Qis"),
        user(203, "Hantu"),
    ]


# -- mapping to the store ---------------------------------------------------------------------
def test_albums_forwards_service_actions_and_entities_land_in_the_store(tmp_path):
    ppl = people()
    src = channel(555, "Sumber Channel")
    chat = channel()
    text = "🔥 Tokey jual pakej"  # the emoji is two UTF-16 units: offsets must not drift
    msgs = [
        finish(
            tservice(1, types.MessageActionChatAddUser(users=[201, 202]), uid=200), [*ppl, chat]
        ),
        finish(
            tservice(2, types.MessageActionChatJoinedByLink(inviter_id=200), uid=203),
            [*ppl, chat],
        ),
        finish(
            tmsg(
                3,
                text,
                entities=[
                    types.MessageEntityMentionName(offset=3, length=5, user_id=100),
                    types.MessageEntityBold(offset=14, length=6),
                ],
                views=120,
                forwards=4,
                edit_date=T0 + timedelta(hours=2),
                edit_hide=True,
                ttl_period=86400,
            ),
            [*ppl, chat],
        ),
        finish(tmsg(4, "album 1", media=photo(41), grouped_id=777), [*ppl, chat]),
        finish(tmsg(5, "", media=photo(42), grouped_id=777), [*ppl, chat]),
        finish(
            tmsg(
                6,
                "promo",
                fwd_from=types.MessageFwdHeader(
                    date=T0 - timedelta(days=3), from_id=types.PeerChannel(555), channel_post=9
                ),
            ),
            [*ppl, chat, src],
        ),
        finish(
            tmsg(7, "hidden", fwd_from=types.MessageFwdHeader(date=T0, from_name="Hidden Seller")),
            [*ppl, chat],
        ),
        finish(
            tservice(
                8,
                types.MessageActionPinMessage(),
                reply_to=types.MessageReplyHeader(reply_to_msg_id=3),
            ),
            [*ppl, chat],
        ),
    ]
    fake = FakeClient(chat, msgs, ppl)
    fake.admins = {100}
    case = Case.open(tmp_path / "case")
    result, _, _ = run(case, fake)
    assert result["messages_new"] == 8 and result["shape"] == "collection"
    assert result["download_downloaded"] == 2 and result["media_present"] == 2

    (c,) = rows(case, m.CHATS)
    assert (c.kind, c.tg_id, c.marked_id, c.type) == (
        "channel",
        CH,
        -(10**12 + CH),
        "private_supergroup",
    )
    by_id = {r.message_id: r for r in rows(case, m.MESSAGES)}
    assert sorted(by_id) == [1, 2, 3, 4, 5, 6, 7, 8]

    # Text and entities with code-point offsets, extras kept in raw, TL object kept.
    m3 = by_id[3]
    assert m3.text == text
    mention, bold = m3.entities
    assert (mention["type"], mention["text"], mention["user_id"]) == ("mention_name", "Tokey", 100)
    assert text[mention["offset"] : mention["offset"] + mention["length"]] == "Tokey"
    assert (bold["type"], bold["text"]) == ("bold", "pakej")
    assert m3.edited_utc == datetime(2025, 3, 1, 14, 0)
    raw3 = json.loads(m3.raw) if isinstance(m3.raw, str) else m3.raw
    assert (raw3["views"], raw3["forwards"], raw3["edit_hide"], raw3["ttl_period"]) == (
        120,
        4,
        True,
        86400,
    )
    assert raw3["tl"]["_"] == "Message" and raw3["tl"]["views"] == 120
    assert raw3["tl"]["date"] == "2025-03-01T12:03:00"
    assert m3.link == f"https://t.me/c/{CH}/3"

    # Album: both parts carry the grouped_id; both photos hashed into the vault.
    for mid in (4, 5):
        raw = json.loads(by_id[mid].raw) if isinstance(by_id[mid].raw, str) else by_id[mid].raw
        assert raw["grouped_id"] == 777
        assert raw["tl"]["media"]["photo"]["file_reference"] == {"_bytes_b64": "AHJlZg=="}
    occ = rows(case, m.MEDIA_OCCURRENCES)
    assert sorted(o.status for o in occ) == ["present", "present"]
    files = rows(case, m.MEDIA_FILES)
    import hashlib

    assert sorted(f.sha256 for f in files) == sorted(
        hashlib.sha256(png(i)).hexdigest() for i in (4, 5)
    )
    assert all(case.vault.has(f.sha256) and f.vault_state == "stored" for f in files)

    # Forwards: the source channel as an actor with its id, channel post id in raw.
    actors = {a.id: a for a in rows(case, m.ACTORS)}
    assert actors[by_id[6].forwarded_from_id].key == "channel:555"
    assert by_id[6].forwarded_from == "Sumber Channel"
    raw6 = json.loads(by_id[6].raw) if isinstance(by_id[6].raw, str) else by_id[6].raw
    assert raw6["forwarded_channel_post"] == 9 and raw6["forwarded_from_peer"] == "channel555"
    assert by_id[7].forwarded_from == "Hidden Seller" and by_id[7].forwarded_from_id is None
    assert actors[by_id[3].sender_id].key == "user:100"

    # Service events with numeric ids (exports give only names).
    svc = {s.message_pk: s for s in rows(case, m.SERVICE_EVENTS)}
    add, join, pin = (svc[by_id[i].id] for i in (1, 2, 8))
    assert add.action == "invite_members"
    assert add.detail["member_ids"] == [201, 202] and add.detail["members"] == ["Abg Jo", "Qis"]
    assert actors[add.actor_id].key == "user:200"
    assert join.action == "join_group_by_link"
    assert (join.detail["inviter_id"], join.detail["inviter"]) == (200, "Shadow")
    assert actors[join.actor_id].key == "user:203"
    assert pin.action == "pin_message" and pin.detail["message_id"] == 3
    assert "tl" not in add.detail

    # Participants where allowed: admins and recent members become actors with names.
    assert result["participants"]["visible"] == 5
    assert result["participants"]["by_role"] == {"admin": 1, "member": 4}
    names = {(n.actor_id, n.name_kind, n.value) for n in rows(case, m.ACTOR_NAMES)}
    tokey = next(a.id for a in actors.values() if a.key == "user:100")
    assert (tokey, "username", "tokey_b") in names and (
        tokey,
        "display_name",
        "Tokey Besar",
    ) in names

    assert verify(case)["ok"]


def test_participants_refused_is_recorded_not_fatal(tmp_path):
    chat = channel()
    fake = FakeClient(chat, [finish(tmsg(1, "hi"), [*people(), chat])], people())
    fake.participants_error = errors.ChatAdminRequiredError(request=None)
    result, _, _ = run(tmp_path and Case.open(tmp_path / "case"), fake)
    assert result["messages_new"] == 1
    assert result["participants"]["visible"] == 0
    assert result["participants"]["errors"] == [
        "admin: ChatAdminRequiredError",
        "recent: ChatAdminRequiredError",
    ]


def test_basic_group_maps_to_the_exports_chat(tmp_path):
    from helpers import msg, write_export

    group = types.Chat(
        id=4242,
        title="Geng Lama",
        photo=types.ChatPhotoEmpty(),
        participants_count=3,
        date=T0,
        version=1,
    )
    case = Case.open(tmp_path / "case")
    ingest(
        case,
        write_export(
            tmp_path / "e",
            [msg(1, from_id="user100", **{"from": "Tokey Besar"})],
            type="private_group",
            id=4242,
            name="Geng Lama",
        ),
    )
    m2 = types.Message(
        id=2, peer_id=types.PeerChat(4242), date=T0, message="hai", from_id=types.PeerUser(100)
    )
    fake = FakeClient(group, [finish(m2, [*people(), group])], people())
    result, _, _ = run(case, fake)
    (c,) = rows(case, m.CHATS)
    assert (c.kind, c.tg_id, c.marked_id, c.type) == ("chat", 4242, -4242, "private_group")
    assert result["messages_new"] == 1 and result["participants"]["by_role"] == {"member": 5}
    assert ("iter_participants", "NoneType") in fake.calls
    assert all(r.link is None for r in rows(case, m.MESSAGES))


# -- media limits and protected content -------------------------------------------------------
def test_protected_content_failure_is_recorded_and_never_retried(tmp_path):
    chat = channel(noforwards=True)
    ppl = people()
    msgs = [
        finish(tmsg(1, "a", media=photo(1), noforwards=True), [*ppl, chat]),
        finish(tmsg(2, "b", media=document(2, 900 * 1024 * 1024)), [*ppl, chat]),
        finish(tmsg(3, "c", media=document(3, 1000)), [*ppl, chat]),
    ]
    fake = FakeClient(chat, msgs, ppl)
    fake.download_errors[1] = errors.ChatForwardsRestrictedError(request=None)
    case = Case.open(tmp_path / "case")
    result, _, _ = run(case, fake, media="all", max_file_mb=10)
    assert result["download_failed"] == 1 and result["download_failed_protected"] == 1
    assert result["download_too_big"] == 1 and result["download_downloaded"] == 1
    occ = {o.message_pk: o for o in rows(case, m.MEDIA_OCCURRENCES)}
    by_id = {r.message_id: r for r in rows(case, m.MESSAGES)}
    failed = occ[by_id[1].id]
    assert failed.status == "placeholder" and failed.media_id is None
    assert "protected content (noforwards)" in failed.reason
    assert "ChatForwardsRestrictedError" in failed.reason
    raw1 = json.loads(by_id[1].raw) if isinstance(by_id[1].raw, str) else by_id[1].raw
    assert raw1["noforwards"] is True
    assert raw1["media_download"]["status"] == "failed" and raw1["media_download"]["protected"]
    assert occ[by_id[2].id].status == "placeholder" and occ[by_id[2].id].reason == TOO_BIG
    assert occ[by_id[3].id].status == "present"
    assert ("download_media", 2) not in fake.calls  # over the size limit: never fetched

    # Running again never retries the failed download (incremental from the last id).
    fake.messages[4] = finish(tmsg(4, "d"), [*ppl, chat])
    again, _, _ = run(case, fake, media="all", max_file_mb=10)
    assert again["messages_new"] == 1
    assert [c for c in fake.calls if c[0] == "download_media"] == [
        ("download_media", 1),
        ("download_media", 3),
    ]
    assert verify(case)["ok"]


def test_media_none_and_photos_modes_write_desktop_placeholders(tmp_path):
    chat = channel()
    ppl = people()
    msgs = [
        finish(tmsg(1, "", media=photo(1)), [*ppl, chat]),
        finish(tmsg(2, "", media=document(2, 1000)), [*ppl, chat]),
    ]
    case = Case.open(tmp_path / "case")
    fake = FakeClient(chat, msgs, ppl)
    run(case, fake, media="photos")
    occ = sorted((o.role, o.status, o.reason) for o in rows(case, m.MEDIA_OCCURRENCES))
    assert occ == [("file", "placeholder", NOT_INCLUDED), ("photo", "present", None)]
    assert [c[1] for c in fake.calls if c[0] == "download_media"] == [1]


def test_metadata_only_keeps_hashes_and_no_bytes(tmp_path):
    import hashlib

    chat = channel()
    ppl = people()
    msgs = [finish(tmsg(i, f"p{i}", media=photo(i)), [*ppl, chat]) for i in (1, 2)]
    case = Case.open(tmp_path / "case")
    result, _, _ = run(case, FakeClient(chat, msgs, ppl), metadata_only=True)
    assert result["media_present"] == 2
    files = rows(case, m.MEDIA_FILES)
    assert sorted(f.sha256 for f in files) == sorted(
        hashlib.sha256(png(i)).hexdigest() for i in (1, 2)
    )
    assert all(f.vault_state == "quarantined" and not case.vault.has(f.sha256) for f in files)
    blobs = [p for p in (case.root / "vault").rglob("*") if p.is_file()]
    assert blobs == []
    assert not any(p.name.startswith(".collect-") for p in case.root.iterdir())
    assert verify(case)["ok"]


# -- FloodWait --------------------------------------------------------------------------------
def test_short_floodwait_sleeps_and_retries_long_one_checkpoints_and_resumes(tmp_path):
    chat = channel()
    ppl = people()
    fake = FakeClient(chat, [finish(tmsg(i, f"m{i}"), [*ppl, chat]) for i in range(1, 11)], ppl)
    fake.floods["iter_messages"] = [(3, 30)]  # after 3 messages: wait 30 s
    case = Case.open(tmp_path / "case")
    result, lines, slept = run(case, fake, flood_short_s=60, flood_budget_s=100)
    assert slept == [30] and result["flood_waits"] == [30]
    assert result["messages_new"] == 10 and result["stopped"] is None
    assert any("FloodWait 30s" in line and "sleeping" in line for line in lines)
    # The retry resumed after the last stored id, not from the start.
    mins = [c[1]["min_id"] for c in fake.calls if c[0] == "iter_messages"]
    assert mins == [0, 3]

    for i in range(11, 21):
        fake.messages[i] = finish(tmsg(i, f"m{i}"), [*ppl, chat])
    fake.floods["iter_messages"] = [(4, 5000)]  # far over the budget
    stopped, lines, slept = run(case, fake, flood_short_s=60, flood_budget_s=100)
    assert slept == [] and stopped["stopped"] == "FloodWait of 5000s over the budget"
    assert stopped["messages_new"] == 4 and stopped["last_id"] == 14
    assert any("FloodWait 5000s" in line and "stopping" in line for line in lines)
    assert any("stopped early" in w for w in stopped["warnings"])
    assert stats(case)["messages"] == 14  # the checkpoint is committed

    resumed, _, _ = run(case, fake)
    assert resumed["messages_new"] == 6 and resumed["last_id"] == 20
    assert [c[1]["min_id"] for c in fake.calls if c[0] == "iter_messages"][-1] == 14
    assert stats(case)["messages"] == 20 and verify(case)["ok"]


def test_budget_is_cumulative_across_waits(tmp_path):
    chat = channel()
    ppl = people()
    fake = FakeClient(chat, [finish(tmsg(i, f"m{i}"), [*ppl, chat]) for i in range(1, 6)], ppl)
    fake.floods["iter_messages"] = [(1, 40), (1, 40), (1, 40)]
    result, _, slept = run(Case.open(tmp_path / "case"), fake, flood_short_s=60, flood_budget_s=90)
    assert slept == [40, 40] and result["stopped"] and result["messages_new"] == 3


def test_kicked_mid_run_keeps_what_was_read(tmp_path):
    chat = channel()
    ppl = people()
    fake = FakeClient(chat, [finish(tmsg(i, f"m{i}"), [*ppl, chat]) for i in range(1, 9)], ppl)
    fake.floods["iter_messages"] = [(3, errors.ChannelPrivateError(request=None))]
    case = Case.open(tmp_path / "case")
    result, lines, _ = run(case, fake)
    assert result["messages_new"] == 3 and result["last_id"] == 3
    assert result["stopped"].startswith("Telegram refused: ChannelPrivateError")
    assert any("stopping: Telegram refused" in line for line in lines)
    resumed, _, _ = run(case, fake)
    assert resumed["messages_new"] == 5 and stats(case)["messages"] == 8
    assert verify(case)["ok"]


def test_floodwait_resolving_the_chat_is_one_clear_error(tmp_path):
    from perisai.errors import PerisaiError

    fake = FakeClient(channel(), [])
    fake.get_entity = lambda ref: (_ for _ in ()).throw(
        errors.FloodWaitError(request=None, capture=86400)
    )
    with pytest.raises(PerisaiError, match="wait 86400s"):
        run(Case.open(tmp_path / "case"), fake)


# -- deletions --------------------------------------------------------------------------------
def test_recollect_marks_deleted_messages_with_the_check(tmp_path):
    chat = channel()
    ppl = people()
    fake = FakeClient(chat, [finish(tmsg(i, f"m{i}"), [*ppl, chat]) for i in range(1, 11)], ppl)
    case = Case.open(tmp_path / "case")
    run(case, fake)
    del fake.messages[4], fake.messages[5]
    fake.messages[11] = finish(tmsg(11, "new"), [*ppl, chat])
    result, lines, _ = run(case, fake)
    assert (result["messages_new"], result["absences"], result["checked_ids"]) == (1, 2, 10)
    assert result["chats"][0]["deleted_since"] == 2
    gone = rows(case, m.ABSENCES)
    assert sorted(g.message_id for g in gone) == [4, 5]
    (exp,) = rows(case, m.EXPORTS, m.EXPORTS.c.id == gone[0].export_id)
    assert exp.shape == "collection" and exp.ingested_utc == datetime(2025, 4, 1, 9, 30)
    assert any("checked 10/10 known ids" in line for line in lines)
    assert stats(case)["deleted_since"] == 2
    # Checked in batches through get_messages(ids=...), never by re-reading the history.
    assert [c for c in fake.calls if c[0] == "get_messages"] == [
        ("get_messages", list(range(1, 11)))
    ]
    again, _, _ = run(case, fake)
    assert again["unchanged"] and again["checked_ids"] == 9  # 4 and 5 are not asked again
    assert verify(case)["ok"]


def test_hidden_history_is_not_taken_for_deletions(tmp_path):
    """An export holds 1..10; the burner sees only 5..10 (history hidden from new members)."""
    from helpers import msg, write_export

    export = write_export(
        tmp_path / "e",
        [msg(i, text=f"m{i}", from_id="user100", **{"from": "Tokey Besar"}) for i in range(1, 11)],
        id=CH,
    )
    case = Case.open(tmp_path / "case")
    ingest(case, export)
    chat = channel()
    ppl = people()
    same = [
        finish(tmsg(i, f"m{i}", when=datetime.fromtimestamp(1714528800 + i, UTC)), [*ppl, chat])
        for i in range(5, 11)
    ]
    fake = FakeClient(chat, same, ppl)
    first, _, _ = run(case, fake, participants=False)
    assert first["absences"] == 0 and first["messages_new"] == 0
    assert first["messages_unchanged"] == 6, first
    fake.messages[11] = finish(tmsg(11, "m11"), [*ppl, chat])
    again, _, _ = run(case, fake, participants=False)
    assert again["absences"] == 0 and again["messages_new"] == 1
    assert again["checked_ids"] == 6  # 5..10, never the export's 1..4
    assert len(rows(case, m.CHATS)) == 1 and stats(case)["deleted_since"] == 0


# -- a collection and an export of one chat -----------------------------------------------------
_KIND = {
    "mention": types.MessageEntityMention,
    "hashtag": types.MessageEntityHashtag,
    "bot_command": types.MessageEntityBotCommand,
    "link": types.MessageEntityUrl,
    "email": types.MessageEntityEmail,
    "bold": types.MessageEntityBold,
    "italic": types.MessageEntityItalic,
    "code": types.MessageEntityCode,
    "phone": types.MessageEntityPhone,
    "underline": types.MessageEntityUnderline,
    "strikethrough": types.MessageEntityStrike,
    "spoiler": types.MessageEntitySpoiler,
    "cashtag": types.MessageEntityCashtag,
    "bank_card": types.MessageEntityBankCard,
}


def _tl_text(text: Any) -> tuple[str, list[Any]]:
    if isinstance(text, str):
        return text, []
    out, ents, pos = "", [], 0
    for piece in text:
        chunk = piece if isinstance(piece, str) else piece["text"]
        width = len(chunk.encode("utf-16-le")) // 2
        if isinstance(piece, dict) and piece["type"] != "plain":
            kind = piece["type"]
            if kind == "mention_name":
                ents.append(types.MessageEntityMentionName(pos, width, piece["user_id"]))
            elif kind == "text_link":
                ents.append(types.MessageEntityTextUrl(pos, width, piece["href"]))
            elif kind == "pre":
                ents.append(types.MessageEntityPre(pos, width, piece.get("language", "")))
            else:
                ents.append(_KIND[kind](pos, width))
        out += chunk
        pos += width
    return out, ents


_SERVICE = {
    "invite_members": lambda e, ids: types.MessageActionChatAddUser(users=ids(e["members"])),
    "join_group_by_link": lambda e, ids: types.MessageActionChatJoinedByLink(
        inviter_id=ids([e["inviter"]])[0]
    ),
    "pin_message": lambda e, ids: types.MessageActionPinMessage(),
    "edit_group_title": lambda e, ids: types.MessageActionChatEditTitle(title=e["title"]),
    "set_messages_ttl": lambda e, ids: types.MessageActionSetMessagesTTL(period=e["period"]),
    "migrate_from_group": lambda e, ids: types.MessageActionChannelMigrateFrom(
        title=e["title"], chat_id=4242
    ),
}


def export_to_telethon(export: dict[str, Any]) -> tuple[Any, list[Any], int]:
    """The synthetic chat as a server would answer: same ids, same users, same content."""
    chat = channel(int(export["id"]), export["name"])
    users: dict[str, types.User] = {}
    for msg in export["messages"]:
        for key, name in (("from_id", "from"), ("actor_id", "actor")):
            if isinstance(msg.get(key), str) and msg[key].startswith("user") and msg.get(name):
                users[msg[name]] = user(int(msg[key][4:]), msg[name])

    def ids(names: list[str]) -> list[int]:
        return [users[n].id if n in users else 999 for n in names]

    out, converted = [], 0
    for e in export["messages"]:
        if e["id"] <= 0:
            continue  # the migrated basic group's history is not in the supergroup
        sender = e.get("from_id") or e.get("actor_id")
        if sender.startswith("channel"):
            peer: Any = types.PeerChannel(int(sender[7:]))
        else:
            peer = types.PeerUser(int(sender[4:]))
        date = datetime.fromtimestamp(int(e["date_unixtime"]), UTC)
        common = {
            "id": e["id"],
            "peer_id": types.PeerChannel(chat.id),
            "date": date,
            "from_id": peer,
        }
        if "reply_to_message_id" in e or e.get("action") == "pin_message":
            target = e.get("reply_to_message_id") or e.get("message_id")
            common["reply_to"] = types.MessageReplyHeader(reply_to_msg_id=target)
        exact = True
        if e["type"] == "service":
            make = _SERVICE.get(e["action"])
            action = make(e, ids) if make else types.MessageActionCustomAction(e["action"])
            exact = make is not None
            msg = types.MessageService(action=action, **common)
        else:
            text, ents = _tl_text(e["text"])
            kw: dict[str, Any] = {}
            if "forwarded_from" in e:
                kw["fwd_from"] = types.MessageFwdHeader(date=date, from_name=e["forwarded_from"])
            if "photo" in e or "file" in e:
                kw["media"] = photo(e["id"]) if "photo" in e else document(e["id"], 10**10)
                exact = False  # Desktop's file path and thumbnails are not the collector's
            if "via_bot" in e or "location_information" in e or "contact_information" in e:
                exact = False
            msg = types.Message(message=text, entities=ents or None, **common, **kw)
        converted += exact
        out.append((finish(msg, [*users.values(), chat]), exact))
    return chat, out, converted


def test_collection_and_export_of_one_chat_land_as_one_chat_without_duplicates(tmp_path):
    synth(tmp_path / "export", messages=200, photos=3, seed=11)
    export = json.loads((tmp_path / "export" / "result.json").read_text("utf-8"))
    case = Case.open(tmp_path / "case")
    first = ingest(case, tmp_path / "export")
    chat, converted, exact = export_to_telethon(export)
    assert exact >= 150  # most messages map to the export's shape exactly

    fake = FakeClient(chat, [msg for msg, _ in converted])
    result, _, _ = run(case, fake, media="none", participants=False)
    assert len(rows(case, m.CHATS)) == 1
    # Every message the collector could shape like Desktop is recognised as the same message.
    assert result["messages_new"] == 0 and result["absences"] == 0
    assert result["messages_changed"] == len(converted) - exact
    assert result["messages_changed"] < 40

    with case.engine.connect() as conn:
        stored = conn.execute(
            select(m.MESSAGES.c.message_id, m.MESSAGES.c.version, m.MESSAGES.c.export_id)
        ).all()
    assert len({mid for mid, _, _ in stored}) == len(export["messages"])
    latest = {}
    for mid, version, _ in stored:
        latest[mid] = max(latest.get(mid, 0), version)
    exact_ids = {msg.id for msg, ok in converted if ok}
    assert all(latest[mid] == 1 for mid in exact_ids)
    s = stats(case)
    assert s["messages"] == len(export["messages"]) == first["messages_new"]
    assert verify(case)["ok"]

    # And the other order: collection first, then the export, lands the same way.
    case2 = Case.open(tmp_path / "case2")
    run(case2, FakeClient(chat, [msg for msg, _ in converted]), media="none", participants=False)
    later = ingest(case2, tmp_path / "export")
    assert len(rows(case2, m.CHATS)) == 1
    assert later["messages_new"] == len([x for x in export["messages"] if x["id"] <= 0])
    assert later["messages_unchanged"] == exact and later["absences"] == 0
    assert verify(case2)["ok"]


# -- read-only, session, parsing, CLI ----------------------------------------------------------
FORBIDDEN = (
    "send_message",
    "send_file",
    "forward_messages",
    "edit_message",
    "delete_messages",
    "send_read_acknowledge",
    "send_reaction",
    "pin_message",
    "unpin_message",
    "kick_participant",
    "edit_admin",
    "edit_permissions",
    "delete_dialog",
    "action",
    "__call__",
    "invoke",
    "start",
    "sign_in",
    "catch_up",
    "_client",
    "client",
    "__dict__",
)


def test_the_wrapper_exposes_only_read_methods():
    real = TelegramClient(StringSession(), 1, "0" * 32)  # never connected
    for name in ("send_message", "send_read_acknowledge", "forward_messages", "__call__"):
        assert callable(getattr(real, name))  # the danger is real on the raw client
    for inner in (real, FakeClient(channel(), [])):
        wrapped = ReadOnlyClient(inner)
        public = sorted(n for n in dir(wrapped) if not n.startswith("__"))
        assert public == sorted(READ_METHODS)
        for name in FORBIDDEN:
            assert not hasattr(wrapped, name), name
        with pytest.raises(AttributeError):
            wrapped.send_message = inner.send_message  # type: ignore[attr-defined]
        with pytest.raises(AttributeError):
            wrapped.iter_messages = None  # type: ignore[misc]
        # What the wrapper exposes holds no reference to the client but through its closure.
        for name in READ_METHODS:
            method = getattr(wrapped, name)
            assert not hasattr(method, "__self__")


def test_collector_source_calls_no_write_request():
    root = Path(__file__).resolve().parents[1] / "src" / "perisai" / "collect"
    source = "\n".join(p.read_text("utf-8") for p in sorted(root.glob("*.py")))
    for word in (
        "send_",
        "ImportChatInvite",
        "JoinChannel",
        "ReadHistory",
        "SendReaction",
        "mark_read",
        "read_acknowledge",
        "functions.",
    ):
        assert word not in source, word


def test_session_is_encrypted_at_rest_with_the_case_key(tmp_path):
    case = Case.open(tmp_path / "case")
    key = case.keys.purpose("telegram-session")
    assert key != case.keys.purpose("custody") and len(key) == 32
    session = "1BVtsOHIBu5mH_fake_session_string=="
    blob = encrypt_session(key, session)
    assert session.encode() not in blob
    assert decrypt_session(key, blob) == session
    with pytest.raises(BadInput, match="does not decrypt"):
        decrypt_session(bytes(32), blob)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(BadInput):
        decrypt_session(key, tampered)


def test_chat_references():
    assert parse_chat("@geng_lepak") == ("username", "geng_lepak")
    assert parse_chat("https://t.me/geng_lepak") == ("username", "geng_lepak")
    assert parse_chat("t.me/+AbC-12_x") == ("invite", "https://t.me/+AbC-12_x")
    assert parse_chat("https://t.me/joinchat/AbC") == ("invite", "https://t.me/+AbC")
    assert parse_chat("-1001987654321") == ("id", -1001987654321)
    for bad in ("", "t.me/", "<script>", "@ab"):
        with pytest.raises(BadInput):
            parse_chat(bad)
    fake = FakeClient(channel(), [])
    with pytest.raises(BadInput, match="never joins"):
        resolve_chat(ReadOnlyClient(fake), "@nosuchgroup")


def test_text_pieces_and_json_safe():
    text, full = text_pieces("hi 👋 @bob", [types.MessageEntityMention(offset=6, length=4)])
    assert text == ["hi 👋 ", {"type": "mention", "text": "@bob"}, ""]
    assert full[0] == {"type": "plain", "text": "hi 👋 "}
    assert text_pieces("plain", None) == ("plain", [{"type": "plain", "text": "plain"}])
    safe = json_safe({"b": b"\x00\xff", "d": datetime(2025, 1, 1, 8, tzinfo=UTC), "n": None})
    assert safe == {"b": {"_bytes_b64": "AP8="}, "d": "2025-01-01T08:00:00", "n": None}
    json.dumps(safe)


def test_cli_without_telethon_names_the_extra(tmp_path):
    code = (
        "import sys; sys.modules['telethon'] = None\n"
        "from perisai.cli import app\n"
        f"app(['collect', {str(tmp_path / 'case')!r}, '--chat', '@gengtest'])\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert r.returncode == 2
    assert "pip install 'perisai[collect]'" in r.stderr
    assert r.stderr.count("\n") == 1


def test_cli_refuses_bad_options_before_any_login(tmp_path):
    from helpers import run_cli

    env = {"PERISAI_TG_API_ID": "", "PERISAI_TG_API_HASH": ""}
    r = run_cli("collect", str(tmp_path / "c"), "--chat", "@gengtest", env=env)
    assert r.returncode == 2 and "PERISAI_TG_API_ID" in r.stderr
    r = run_cli("collect", str(tmp_path / "c"), "--chat", "@gengtest", "--media", "videos")
    assert r.returncode == 2 and "--media" in r.stderr
    r = run_cli("collect", str(tmp_path / "c"), "--chat", "@gengtest", "--since", "yesterday")
    assert r.returncode == 2 and "--since" in r.stderr


def test_a_collection_alone_is_triaged_like_an_export(tmp_path):
    """No export at all: the collected chat feeds the text stage, which finds planted phones."""
    from perisai.findings import findings
    from perisai.pipeline import triage

    synth(tmp_path / "export", messages=300, photos=0, seed=11)
    export = json.loads((tmp_path / "export" / "result.json").read_text("utf-8"))
    truth = json.loads((tmp_path / "export" / "ground_truth.json").read_text("utf-8"))
    chat, converted, _ = export_to_telethon(export)
    case = Case.open(tmp_path / "case")
    run(case, FakeClient(chat, [msg for msg, _ in converted]), media="none", participants=False)
    triage(case, workers=1, only="text")
    planted = {
        (record["id"], item["value"])
        for record in truth["messages"]
        for item in record.get("pii", [])
        if item["kind"] == "pii.phone" and item["where"] == "text" and record["id"] > 0
    }
    found = {(f["message_id"], f["value"]) for f in findings(case, "pii.phone")}
    assert planted and len(planted & found) / len(planted) >= 0.9
    assert verify(case)["ok"]


def test_cli_logs_in_once_keeps_the_session_encrypted_and_collects(tmp_path, monkeypatch):
    """The command end to end, with Telethon's client class replaced by the offline fake."""
    import telethon.sync
    from telethon.crypto import AuthKey
    from typer.testing import CliRunner

    import perisai.cli  # noqa: F401 - registers the commands
    from perisai.cli_kit import app
    from perisai.collect.client import SESSION_FILE

    chat = channel()
    ppl = people()
    msgs = [finish(tmsg(i, f"m{i}", media=photo(i)), [*ppl, chat]) for i in (1, 2)]
    made: list[Any] = []

    class FakeTelegramClient(FakeClient):
        def __init__(self, session, api_id, api_hash, receive_updates, flood_sleep_threshold):
            assert (api_id, api_hash) == (12345, "abcdef")
            assert receive_updates is False and flood_sleep_threshold == 0
            super().__init__(chat, msgs, ppl)
            self.session = session
            self.prompts: list[str] = []
            made.append(self)

        def start(self, phone, code_callback, password):
            if self.session.auth_key is None:  # first use: log in on the terminal
                self.prompts += [phone(), code_callback()]
                self.session.set_dc(2, "127.0.0.1", 443)
                self.session.auth_key = AuthKey(bytes(range(256)))

        def disconnect(self):
            pass

    monkeypatch.setattr(telethon.sync, "TelegramClient", FakeTelegramClient)
    monkeypatch.setenv("PERISAI_TG_API_ID", "12345")
    monkeypatch.setenv("PERISAI_TG_API_HASH", "abcdef")
    case_dir = tmp_path / "case"
    runner = CliRunner()
    first = runner.invoke(
        app, ["collect", str(case_dir), "--chat", "@gengtest", "--json"], input="+60123\n11111\n"
    )
    assert first.exit_code == 0, first.output
    assert made[0].prompts == ["+60123", "11111"]
    doc = json.loads(first.stdout.strip().splitlines()[-1])
    assert doc["messages_new"] == 2 and doc["download_downloaded"] == 2
    assert doc["shape"] == "collection"

    blob = (case_dir / SESSION_FILE).read_bytes()
    saved = made[0].session.save()
    assert saved and saved.encode() not in blob
    assert (case_dir / SESSION_FILE).stat().st_mode & 0o077 == 0
    case = Case.open(case_dir, create=False)
    assert decrypt_session(case.keys.purpose("telegram-session"), blob) == saved

    msgs.append(finish(tmsg(3, "m3"), [*ppl, chat]))
    second = runner.invoke(app, ["collect", str(case_dir), "--chat", "@gengtest"])
    assert second.exit_code == 0, second.output
    assert made[1].prompts == []  # the stored session was used: no second login
    assert "1 new" in second.stdout and "last id 3" in second.stdout

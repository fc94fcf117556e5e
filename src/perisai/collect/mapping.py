"""Telethon objects -> the canonical message shape of a Telegram Desktop JSON export.

The ingest writer turns export-shaped dicts into rows; mapping a live message to the same
shape (same keys, same names, same text pieces) makes a collection and an export of one chat
land as one chat, and one unchanged message when both saw the same content. What exports lack
(views, forwards, albums, forward source ids, numeric ids in service actions, the TL object
itself) is added under EXTRA_KEYS, which the writer keeps in `raw` but leaves out of the
content hash: views change every hour, the message does not.

Nothing here touches the network or the database.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from telethon import helpers, utils
from telethon.tl import types

# Keys the collector adds that a Desktop export never has.
EXTRA_KEYS = frozenset(
    {
        "views",
        "forwards",
        "grouped_id",
        "edit_hide",
        "noforwards",
        "ttl_period",
        "pinned",
        "post_author",
        "forwarded_from_peer",
        "forwarded_date_unixtime",
        "forwarded_channel_post",
        "via_bot_id",
        "member_ids",
        "inviter_id",
        "migrated_to_id",
        "migrated_from_id",
        "media_download",
    }
)
# The TL object: kept only in `raw`.
TL_KEY = "tl"
RAW_ONLY = frozenset({TL_KEY})

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
TOO_BIG = "(File exceeds maximum size. Change data exporting settings to download.)"

_ENTITY_TYPES: dict[type, str] = {
    types.MessageEntityMention: "mention",
    types.MessageEntityHashtag: "hashtag",
    types.MessageEntityBotCommand: "bot_command",
    types.MessageEntityUrl: "link",
    types.MessageEntityEmail: "email",
    types.MessageEntityBold: "bold",
    types.MessageEntityItalic: "italic",
    types.MessageEntityCode: "code",
    types.MessageEntityPre: "pre",
    types.MessageEntityTextUrl: "text_link",
    types.MessageEntityMentionName: "mention_name",
    types.InputMessageEntityMentionName: "mention_name",
    types.MessageEntityPhone: "phone",
    types.MessageEntityCashtag: "cashtag",
    types.MessageEntityUnderline: "underline",
    types.MessageEntityStrike: "strikethrough",
    types.MessageEntityBlockquote: "blockquote",
    types.MessageEntityBankCard: "bank_card",
    types.MessageEntitySpoiler: "spoiler",
    types.MessageEntityCustomEmoji: "custom_emoji",
}

# Desktop's action names (export_api_wrap / SerializeMessage), by TL action class.
_ACTIONS: dict[type, str] = {
    types.MessageActionChatCreate: "create_group",
    types.MessageActionChannelCreate: "create_channel",
    types.MessageActionChatEditTitle: "edit_group_title",
    types.MessageActionChatEditPhoto: "edit_group_photo",
    types.MessageActionChatDeletePhoto: "delete_group_photo",
    types.MessageActionChatAddUser: "invite_members",
    types.MessageActionChatDeleteUser: "remove_members",
    types.MessageActionChatJoinedByLink: "join_group_by_link",
    types.MessageActionChatJoinedByRequest: "join_group_by_request",
    types.MessageActionChatMigrateTo: "migrate_to_supergroup",
    types.MessageActionChannelMigrateFrom: "migrate_from_group",
    types.MessageActionPinMessage: "pin_message",
    types.MessageActionHistoryClear: "clear_history",
    types.MessageActionSetMessagesTTL: "set_messages_ttl",
    types.MessageActionGroupCall: "group_call",
    types.MessageActionInviteToGroupCall: "invite_to_group_call",
    types.MessageActionScreenshotTaken: "take_screenshot",
    types.MessageActionContactSignUp: "joined_telegram",
    types.MessageActionGeoProximityReached: "proximity_reached",
    types.MessageActionTopicCreate: "topic_created",
    types.MessageActionTopicEdit: "topic_edit",
}


def json_safe(value: Any) -> Any:
    """A TL to_dict() made JSON-safe: bytes as base64, datetimes as ISO (UTC), sets as lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return {"_bytes_b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def tl_dict(obj: Any) -> Any:
    to_dict = getattr(obj, "to_dict", None)
    return json_safe(to_dict() if callable(to_dict) else obj)


def _epoch(when: datetime | None) -> int | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def _iso_utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None).isoformat()


def peer_ref(peer: Any) -> str | None:
    """The export's string form of a peer: user123 / chat123 / channel123."""
    if isinstance(peer, types.PeerUser):
        return f"user{peer.user_id}"
    if isinstance(peer, types.PeerChat):
        return f"chat{peer.chat_id}"
    if isinstance(peer, types.PeerChannel):
        return f"channel{peer.channel_id}"
    return None


def display_name(entity: Any) -> str | None:
    """What Desktop writes as `from`: full name; None for a deleted account."""
    if entity is None:
        return None
    if isinstance(entity, types.User) and entity.deleted:
        return None
    name = utils.get_display_name(entity)
    return name or None


class Names:
    """Display names and usernames by marked peer id, learnt from what Telegram returned."""

    def __init__(self) -> None:
        self.by_id: dict[int, Any] = {}

    def learn(self, entity: Any) -> None:
        if isinstance(entity, types.User | types.Chat | types.Channel | types.ChatForbidden):
            with contextlib.suppress(TypeError, ValueError):
                self.by_id[utils.get_peer_id(entity)] = entity

    def learn_message(self, msg: Any) -> None:
        for attr in ("sender", "chat", "via_bot"):
            self.learn(getattr(msg, attr, None))
        for ent in getattr(msg, "action_entities", None) or []:
            self.learn(ent)
        fwd = getattr(msg, "forward", None)
        if fwd is not None:
            self.learn(getattr(fwd, "sender", None))
            self.learn(getattr(fwd, "chat", None))

    def entity(self, peer: Any) -> Any:
        if peer is None:
            return None
        try:
            return self.by_id.get(utils.get_peer_id(peer))
        except (TypeError, ValueError):
            return None

    def name(self, peer: Any) -> str | None:
        return display_name(self.entity(peer))

    def user_name(self, user_id: int) -> str | None:
        return self.name(types.PeerUser(user_id))

    def username(self, peer: Any) -> str | None:
        ent = self.entity(peer)
        return getattr(ent, "username", None)


def text_pieces(message: str, entities: list[Any] | None) -> tuple[Any, list[dict[str, Any]]]:
    """(text, text_entities) as Desktop writes them: a plain string when there is no entity,
    else a list of plain strings and typed pieces. Telegram offsets count UTF-16 units."""
    message = message or ""
    plain = [{"type": "plain", "text": message}] if message else []
    if not entities:
        return message, plain
    wide = helpers.add_surrogate(message)
    pieces: list[Any] = []
    full: list[dict[str, Any]] = []
    pos = 0
    for ent in sorted(entities, key=lambda e: (e.offset, -e.length)):
        if ent.offset < pos:  # nested entity: Desktop flattens to the outer one
            continue
        if ent.offset > pos:
            chunk = helpers.del_surrogate(wide[pos : ent.offset])
            pieces.append(chunk)
            full.append({"type": "plain", "text": chunk})
        chunk = helpers.del_surrogate(wide[ent.offset : ent.offset + ent.length])
        piece: dict[str, Any] = {"type": _ENTITY_TYPES.get(type(ent), "unknown"), "text": chunk}
        if isinstance(ent, types.MessageEntityTextUrl):
            piece["href"] = ent.url
        elif isinstance(ent, types.MessageEntityMentionName):
            piece["user_id"] = ent.user_id
        elif isinstance(ent, types.MessageEntityPre):
            piece["language"] = ent.language or ""
        elif isinstance(ent, types.MessageEntityCustomEmoji):
            piece["document_id"] = ent.document_id
        pieces.append(piece)
        full.append(piece)
        pos = ent.offset + ent.length
    # Desktop (2021 on) always closes with the rest of the text, "" when an entity ends it.
    chunk = helpers.del_surrogate(wide[pos:])
    pieces.append(chunk)
    full.append({"type": "plain", "text": chunk})
    return pieces, full


def media_kind(msg: Any) -> str | None:
    """photo | document | None (other media carry no file worth downloading)."""
    media = getattr(msg, "media", None)
    if isinstance(media, types.MessageMediaPhoto) and media.photo is not None:
        return "photo"
    if isinstance(media, types.MessageMediaDocument) and media.document is not None:
        return "document"
    return None


def media_size(msg: Any) -> int | None:
    media = msg.media
    if isinstance(media, types.MessageMediaPhoto) and isinstance(media.photo, types.Photo):
        sizes = [_photo_size(s) for s in media.photo.sizes]
        return max((s for s in sizes if s), default=None)
    if isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        return int(media.document.size)
    return None


def _photo_size(size: Any) -> int | None:
    if isinstance(size, types.PhotoSize):
        return int(size.size)
    if isinstance(size, types.PhotoSizeProgressive):
        return int(max(size.sizes))
    if isinstance(size, types.PhotoCachedSize | types.PhotoStrippedSize):
        return len(size.bytes)
    return None


def _photo_fields(photo: Any) -> dict[str, Any]:
    if not isinstance(photo, types.Photo):
        return {}
    best = None
    for s in photo.sizes:
        if isinstance(s, types.PhotoSize | types.PhotoSizeProgressive) and (
            best is None or s.w * s.h > best.w * best.h
        ):
            best = s
    out: dict[str, Any] = {}
    if best is not None:
        size = _photo_size(best)
        if size:
            out["photo_file_size"] = size
        out["width"], out["height"] = best.w, best.h
    return out


def _document_fields(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, types.Document):
        return {}
    out: dict[str, Any] = {}
    media_type = None
    for attr in doc.attributes:
        if isinstance(attr, types.DocumentAttributeFilename):
            out["file_name"] = attr.file_name
        elif isinstance(attr, types.DocumentAttributeVideo):
            media_type = "video_message" if attr.round_message else "video_file"
            out["duration_seconds"] = int(attr.duration)
            out["width"], out["height"] = attr.w, attr.h
        elif isinstance(attr, types.DocumentAttributeAudio):
            media_type = "voice_message" if attr.voice else "audio_file"
            out["duration_seconds"] = int(attr.duration)
            if attr.performer:
                out["performer"] = attr.performer
            if attr.title:
                out["title"] = attr.title
        elif isinstance(attr, types.DocumentAttributeAnimated):
            media_type = "animation"
        elif isinstance(attr, types.DocumentAttributeSticker):
            media_type = "sticker"
            out["sticker_emoji"] = attr.alt
        elif isinstance(attr, types.DocumentAttributeImageSize):
            out["width"], out["height"] = attr.w, attr.h
    out["file_size"] = int(doc.size)
    thumbs = [t for t in (doc.thumbs or []) if not isinstance(t, types.PhotoStrippedSize)]
    if thumbs:
        # Desktop exports a thumbnail beside a file; the collector never downloads it.
        out["thumbnail"] = NOT_INCLUDED
        sizes = [x for x in (_photo_size(t) for t in thumbs) if x]
        if sizes:
            out["thumbnail_file_size"] = max(sizes)
    if media_type:
        out["media_type"] = media_type
    out["mime_type"] = doc.mime_type
    return out


def _other_media(media: Any) -> dict[str, Any]:
    if isinstance(media, types.MessageMediaGeo | types.MessageMediaGeoLive) and isinstance(
        media.geo, types.GeoPoint
    ):
        return {"location_information": {"latitude": media.geo.lat, "longitude": media.geo.long}}
    if isinstance(media, types.MessageMediaVenue) and isinstance(media.geo, types.GeoPoint):
        return {
            "place_name": media.title,
            "address": media.address,
            "location_information": {"latitude": media.geo.lat, "longitude": media.geo.long},
        }
    if isinstance(media, types.MessageMediaContact):
        return {
            "contact_information": {
                "first_name": media.first_name,
                "last_name": media.last_name,
                "phone_number": media.phone_number,
            }
        }
    return {}


MediaRef = Callable[[Any], str | None]


def to_export_shape(msg: Any, names: Names, media_ref: MediaRef | None = None) -> dict[str, Any]:
    """One Telethon Message / MessageService as an export-shaped dict (plus EXTRA_KEYS and TL).

    `media_ref(msg)` returns what goes in the `photo`/`file` key: a path relative to the
    collection's download folder, or a placeholder in Desktop's `(File ...)` form.
    """
    is_service = isinstance(msg, types.MessageService)
    out: dict[str, Any] = {"id": msg.id, "type": "service" if is_service else "message"}
    epoch = _epoch(msg.date)
    if epoch is not None:
        out["date"] = _iso_utc(epoch)
        out["date_unixtime"] = str(epoch)
    edited = _epoch(getattr(msg, "edit_date", None))
    if edited is not None:
        out["edited"] = _iso_utc(edited)
        out["edited_unixtime"] = str(edited)
    # A channel post has no from_id: Desktop names the channel itself as the sender.
    sender = msg.from_id if msg.from_id is not None else msg.peer_id
    who, who_id = ("actor", "actor_id") if is_service else ("from", "from_id")
    out[who] = names.name(sender)
    ref = peer_ref(sender)
    if ref is not None:
        out[who_id] = ref
    if is_service:
        out.update(service_fields(msg, names))
        out["text"], out["text_entities"] = "", []
    else:
        out.update(message_fields(msg, names, media_ref))
    extras = {
        "views": getattr(msg, "views", None),
        "forwards": getattr(msg, "forwards", None),
        "grouped_id": getattr(msg, "grouped_id", None),
        "edit_hide": getattr(msg, "edit_hide", None),
        "noforwards": getattr(msg, "noforwards", None),
        "ttl_period": getattr(msg, "ttl_period", None),
        "pinned": getattr(msg, "pinned", None),
        "post_author": getattr(msg, "post_author", None),
    }
    out.update({k: v for k, v in extras.items() if v not in (None, False)})
    out[TL_KEY] = tl_dict(msg)
    return out


def message_fields(msg: Any, names: Names, media_ref: MediaRef | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fwd = msg.fwd_from
    if fwd is not None:
        name = fwd.from_name or (names.name(fwd.from_id) if fwd.from_id is not None else None)
        out["forwarded_from"] = name
        src = peer_ref(fwd.from_id)
        if src is not None:
            out["forwarded_from_id"] = src
            out["forwarded_from_peer"] = src
        fdate = _epoch(fwd.date)
        if fdate is not None:
            out["forwarded_date_unixtime"] = str(fdate)
        if fwd.channel_post:
            out["forwarded_channel_post"] = fwd.channel_post
    reply = msg.reply_to
    if isinstance(reply, types.MessageReplyHeader) and reply.reply_to_msg_id:
        out["reply_to_message_id"] = reply.reply_to_msg_id
    if msg.via_bot_id:
        username = names.username(types.PeerUser(msg.via_bot_id))
        if username:
            out["via_bot"] = f"@{username}"
        out["via_bot_id"] = msg.via_bot_id
    kind = media_kind(msg)
    if kind is not None:
        ref = media_ref(msg) if media_ref else NOT_INCLUDED
        if kind == "photo":
            out["photo"] = ref or NOT_INCLUDED
            out.update(_photo_fields(msg.media.photo))
        else:
            out["file"] = ref or NOT_INCLUDED
            out.update(_document_fields(msg.media.document))
        ttl = getattr(msg.media, "ttl_seconds", None)
        if ttl:
            out["self_destruct_period_seconds"] = ttl
        if getattr(msg.media, "spoiler", None):
            out["media_spoiler"] = True
    else:
        out.update(_other_media(msg.media))
    out["text"], out["text_entities"] = text_pieces(msg.message, msg.entities)
    return out


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def service_fields(msg: Any, names: Names) -> dict[str, Any]:
    """Desktop's action name and fields, plus the numeric ids Desktop leaves out."""
    act = msg.action
    action = _ACTIONS.get(type(act)) or _snake(type(act).__name__.removeprefix("MessageAction"))
    out: dict[str, Any] = {"action": action}
    if isinstance(act, types.MessageActionChatCreate | types.MessageActionChannelCreate):
        out["title"] = act.title
    if isinstance(act, types.MessageActionChatCreate | types.MessageActionChatAddUser):
        out["members"] = [names.user_name(u) for u in act.users]
        out["member_ids"] = list(act.users)
    elif isinstance(act, types.MessageActionChatDeleteUser):
        out["members"] = [names.user_name(act.user_id)]
        out["member_ids"] = [act.user_id]
    elif isinstance(act, types.MessageActionChatJoinedByLink):
        out["inviter"] = names.user_name(act.inviter_id)
        out["inviter_id"] = act.inviter_id
    elif isinstance(act, types.MessageActionChatEditTitle):
        out["title"] = act.title
    elif isinstance(act, types.MessageActionChannelMigrateFrom):
        out["title"] = act.title
        out["migrated_from_id"] = act.chat_id
    elif isinstance(act, types.MessageActionChatMigrateTo):
        out["migrated_to_id"] = act.channel_id
    elif isinstance(act, types.MessageActionPinMessage):
        reply = msg.reply_to
        if isinstance(reply, types.MessageReplyHeader) and reply.reply_to_msg_id:
            out["message_id"] = reply.reply_to_msg_id
    elif isinstance(act, types.MessageActionSetMessagesTTL):
        out["period"] = act.period
    return out


def chat_header(entity: Any) -> dict[str, Any]:
    """The export header (name, type, id) for a chat entity. The id is the marked id, which
    the writer decodes the same in every era."""
    if isinstance(entity, types.Channel):
        public = bool(entity.username or entity.usernames)
        kind = "supergroup" if entity.megagroup or entity.gigagroup else "channel"
        ctype = f"{'public' if public else 'private'}_{kind}"
    elif isinstance(entity, types.Chat | types.ChatForbidden):
        ctype = "private_group"
    elif isinstance(entity, types.User):
        ctype = "bot_chat" if entity.bot else "personal_chat"
    else:
        raise TypeError(f"not a chat: {type(entity).__name__}")
    return {
        "name": display_name(entity) or getattr(entity, "title", None),
        "type": ctype,
        "id": utils.get_peer_id(entity),
    }

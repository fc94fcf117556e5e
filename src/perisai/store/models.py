"""SQLAlchemy 2 models of a case store.

Evidence rows are written once and never updated: a later export that changes a message adds a
new version row; a message missing from a later export adds an absence row. That keeps every
row reproducible from the custody log, which is what `verify` relies on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Export(Base):
    """One ingest of one Telegram export: what came in, when, from where."""

    __tablename__ = "exports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ingested_utc: Mapped[datetime] = mapped_column(DateTime)
    source_path: Mapped[str] = mapped_column(Text)
    result_sha256: Mapped[str] = mapped_column(String(64))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    shape: Mapped[str] = mapped_column(String(16))  # single_chat | full_account
    timezone: Mapped[str | None] = mapped_column(String(64))
    timezone_source: Mapped[str] = mapped_column(String(16))  # given | inferred | assumed
    tool_version: Mapped[str] = mapped_column(String(32))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    warnings: Mapped[list[Any]] = mapped_column(JSON)


class Chat(Base):
    __tablename__ = "chats"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tg_id: Mapped[int] = mapped_column(BigInteger)  # bare id, era-independent
    kind: Mapped[str] = mapped_column(String(16))  # user | chat | channel
    marked_id: Mapped[int] = mapped_column(BigInteger)  # Bot API / Telethon form
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    first_export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"))
    __table_args__ = (UniqueConstraint("kind", "tg_id"),)


class Actor(Base):
    """A sender or actor, by stable numeric Telegram id when the export gives one."""

    __tablename__ = "actors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tg_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # user | channel | chat | bot | unknown
    key: Mapped[str] = mapped_column(String(200), unique=True)  # "user:123", "bot:@x", "name:.."
    first_export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"))


class ActorName(Base):
    """Display names and usernames as seen, with when and in which export."""

    __tablename__ = "actor_names"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    name_kind: Mapped[str] = mapped_column(String(16))  # display_name | username
    value: Mapped[str] = mapped_column(Text)
    first_seen_utc: Mapped[datetime | None] = mapped_column(DateTime)
    last_seen_utc: Mapped[datetime | None] = mapped_column(DateTime)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"))


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    dup_index: Mapped[int] = mapped_column(Integer)  # n-th entry with this id in one export
    version: Mapped[int] = mapped_column(Integer)  # 1, then 2.. when a later export differs
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))  # message | service | unsupported | ...
    date_utc: Mapped[datetime | None] = mapped_column(DateTime)
    date_local: Mapped[str | None] = mapped_column(String(32))
    time_source: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    text: Mapped[str] = mapped_column(Text)
    entities: Mapped[list[Any]] = mapped_column(JSON)
    reply_to: Mapped[int | None] = mapped_column(BigInteger)
    forwarded_from: Mapped[str | None] = mapped_column(Text)
    forwarded_from_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    via_bot: Mapped[str | None] = mapped_column(String(200))
    edited_utc: Mapped[datetime | None] = mapped_column(DateTime)
    flags: Mapped[list[Any]] = mapped_column(JSON)
    link: Mapped[str | None] = mapped_column(String(100))  # t.me link: channels/supergroups
    raw: Mapped[str] = mapped_column(Text)  # the message exactly as parsed, canonical JSON
    content_sha256: Mapped[str] = mapped_column(String(64))  # what "the same message" means
    row_sha256: Mapped[str] = mapped_column(String(64))  # tamper evidence over every column
    __table_args__ = (Index("ix_messages_chat_msg", "chat_id", "message_id", "dup_index"),)


class MessageAbsence(Base):
    """A message present in an earlier export and missing from a later one: deleted since."""

    __tablename__ = "message_absences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"))
    __table_args__ = (UniqueConstraint("chat_id", "message_id", "export_id"),)


class ServiceEvent(Base):
    __tablename__ = "service_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class MediaFile(Base):
    """A distinct file, content-addressed by SHA-256; its evidentiary copy is in the vault."""

    __tablename__ = "media_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    sha1: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str | None] = mapped_column(String(100))  # sniffed from the bytes
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None]
    vault_state: Mapped[str] = mapped_column(String(16))  # stored | quarantined | sealed
    first_export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"))


class MediaOccurrence(Base):
    """Which message references which file, or why there is no file."""

    __tablename__ = "media_occurrences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # photo | file | thumbnail
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media_files.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # present|missing|placeholder|refused|empty
    export_path: Mapped[str | None] = mapped_column(Text)
    declared: Mapped[dict[str, Any]] = mapped_column(JSON)  # size, mime, dims as exported
    reason: Mapped[str | None] = mapped_column(Text)


class CustodyEvent(Base):
    """Append-only, hash-chained log; see custody.py."""

    __tablename__ = "custody_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time_utc: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    tool_version: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)  # canonical JSON of inputs/outputs/details
    prev_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))  # HMAC under the case key


class Finding(Base):
    """A detector result. Derived data: a stage may delete and rewrite its own findings."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[str] = mapped_column(Text)
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"))
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # text | entity | ocr | media
    span_start: Mapped[int | None] = mapped_column(Integer)
    span_end: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float]
    media_sha256: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    stage_version: Mapped[int] = mapped_column(Integer)


class MessageAnnotation(Base):
    """Per-message derived facts (language, for now), written by the text stage."""

    __tablename__ = "message_annotations"
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(16))
    stage_version: Mapped[int] = mapped_column(Integer)


class StageState(Base):
    """How far each stage has got. Evidence rows only ever grow with rising primary keys,
    so a watermark per stage is enough to know what is pending."""

    __tablename__ = "stage_state"
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    watermark: Mapped[int] = mapped_column(BigInteger)
    updated_utc: Mapped[str] = mapped_column(String(32))


class MediaAnalysis(Base):
    """Perceptual hashes of one stored file, or why it was rejected (bomb, corrupt...)."""

    __tablename__ = "media_analysis"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media_files.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # hashed | rejected | skipped
    reason: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(16))  # image | video
    pdq: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    dihedral: Mapped[list[Any] | None] = mapped_column(JSON)
    frames: Mapped[list[Any] | None] = mapped_column(JSON)  # vPDQ: frame, pdq, quality, time
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)  # decode path, sampling, duration
    stage_version: Mapped[int] = mapped_column(Integer)


class HashList(Base):
    __tablename__ = "hash_lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))  # csam | ncii | voyeur | doxx | benign
    format: Mapped[str] = mapped_column(String(16))
    source_sha256: Mapped[str] = mapped_column(String(64))
    imported_utc: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[int] = mapped_column(Integer)  # PDQ distance that still matches
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)


class ListHash(Base):
    __tablename__ = "list_hashes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"), index=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int | None] = mapped_column(Integer)
    source_id: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (Index("ix_list_hashes_alg_value", "algorithm", "value"),)


class ClusterMember(Base):
    """Near-duplicate clusters: a decision on the representative applies to every member."""

    __tablename__ = "cluster_members"
    media_id: Mapped[int] = mapped_column(ForeignKey("media_files.id"), primary_key=True)
    cluster_id: Mapped[int] = mapped_column(Integer, index=True)  # the representative's media id
    distance: Mapped[int] = mapped_column(Integer)  # PDQ bits to the representative
    first_message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    first_posted_utc: Mapped[datetime | None] = mapped_column(DateTime)
    postings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stage_version: Mapped[int] = mapped_column(Integer)


class Preview(Base):
    """The only pixels Perisai ever makes: a small, greyscale, heavily blurred thumbnail."""

    __tablename__ = "previews"
    media_id: Mapped[int] = mapped_column(ForeignKey("media_files.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))  # the preview's own vault blob
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    blur_radius: Mapped[int] = mapped_column(Integer)
    stage_version: Mapped[int] = mapped_column(Integer)


class DoxRecord(Base):
    """A message, or a short window of one sender's messages, that exposes a person."""

    __tablename__ = "doxes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), index=True)
    first_message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    message_pks: Mapped[list[Any]] = mapped_column(JSON)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    score: Mapped[float]
    identifiers: Mapped[list[Any]] = mapped_column(JSON)  # [[kind, value], ...]
    cues: Mapped[list[Any]] = mapped_column(JSON)
    linked_media: Mapped[list[Any]] = mapped_column(JSON)  # sha256 of photos linked to it
    stage_version: Mapped[int] = mapped_column(Integer)


class Decision(Base):
    """A reviewer's decision on a file; it applies to every member of the file's cluster."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(16))  # csam|ncii|voyeur|doxx|benign|none
    reviewed: Mapped[bool] = mapped_column(Boolean)
    decided_utc: Mapped[str] = mapped_column(String(32))
    investigator: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class Victim(Base):
    """A person registered by a caseworker. Only a pseudonymous alias is kept in the clear."""

    __tablename__ = "victims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alias: Mapped[str] = mapped_column(String(200), unique=True)
    registered_utc: Mapped[str] = mapped_column(String(32))
    investigator: Mapped[str] = mapped_column(String(200))


class VictimIdentifier(Base):
    """One of her identifiers, normalised, stored only as HMAC-SHA256 under a case purpose key."""

    __tablename__ = "victim_identifiers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    victim_id: Mapped[int] = mapped_column(ForeignKey("victims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # pii.phone | pii.ic | pii.email | pii.handle
    digest: Mapped[str] = mapped_column(String(64), index=True)


class VictimHash(Base):
    """A hash of one of her own images or videos, made on her device by `victim-hash`."""

    __tablename__ = "victim_hashes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    victim_id: Mapped[int] = mapped_column(ForeignKey("victims.id"), index=True)
    item: Mapped[int] = mapped_column(Integer)  # position in her file; names are not kept
    kind: Mapped[str] = mapped_column(String(16))  # image | video
    algorithm: Mapped[str] = mapped_column(String(16))  # sha256 | md5 | pdq | vpdq
    value: Mapped[str] = mapped_column(String(64))
    variant: Mapped[int | None] = mapped_column(Integer)  # dihedral index (pdq), frame (vpdq)
    quality: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_victim_hashes_alg_value", "algorithm", "value"),)


class Outreach(Base):
    """A caseworker's outreach status for an exposed identifier; the newest row wins.

    Keyed by the identifier's keyed hash, so the status follows the person when the at-risk
    register merges or splits records as new exports arrive."""

    __tablename__ = "outreach"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))  # not_contacted|contacted|police_report|closed
    note: Mapped[str | None] = mapped_column(Text)
    set_utc: Mapped[str] = mapped_column(String(32))
    investigator: Mapped[str] = mapped_column(String(200))


class WebUser(Base):
    """A person who may log in to the review web UI. Only the Argon2id hash is kept."""

    __tablename__ = "web_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # pseudonymous, in custody log
    role: Mapped[str] = mapped_column(String(16))  # admin | investigator | caseworker | viewer
    password_hash: Mapped[str] = mapped_column(String(200))
    created_utc: Mapped[str] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until_utc: Mapped[str | None] = mapped_column(String(32))


class WebSession(Base):
    """A login. The cookie holds a random token; only its keyed hash is stored."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_utc: Mapped[str] = mapped_column(String(32))
    expires_utc: Mapped[str] = mapped_column(String(32))


class LoginAttempt(Base):
    """Every login attempt, for rate limiting and lockout."""

    __tablename__ = "web_login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    time_utc: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column(Boolean)


class Reveal(Base):
    """One reveal of a less-blurred view: who, which file, when, for how long."""

    __tablename__ = "web_reveals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # UTC date, budget period
    media_sha256: Mapped[str] = mapped_column(String(64))
    started_utc: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[int] = mapped_column(Integer)


class ReviewDay(Base):
    """A reviewer's time on review pages in one UTC day, for the budget and break prompts."""

    __tablename__ = "web_review_days"
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    active_seconds: Mapped[int] = mapped_column(Integer, default=0)
    since_break_seconds: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_utc: Mapped[str | None] = mapped_column(String(32))


class WebSetting(Base):
    """Per-case settings of the web UI (the exposure budget)."""

    __tablename__ = "web_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Typed handles for Core statements (SQLAlchemy types __table__ as a plain FromClause).
EXPORTS = _table(Export)
CHATS = _table(Chat)
ACTORS = _table(Actor)
ACTOR_NAMES = _table(ActorName)
MESSAGES = _table(Message)
ABSENCES = _table(MessageAbsence)
SERVICE_EVENTS = _table(ServiceEvent)
MEDIA_FILES = _table(MediaFile)
MEDIA_OCCURRENCES = _table(MediaOccurrence)
CUSTODY = _table(CustodyEvent)
FINDINGS = _table(Finding)
ANNOTATIONS = _table(MessageAnnotation)
STAGE_STATE = _table(StageState)
MEDIA_ANALYSIS = _table(MediaAnalysis)
HASH_LISTS = _table(HashList)
LIST_HASHES = _table(ListHash)
CLUSTER_MEMBERS = _table(ClusterMember)
PREVIEWS = _table(Preview)
DOXES = _table(DoxRecord)
DECISIONS = _table(Decision)
VICTIMS = _table(Victim)
VICTIM_IDENTIFIERS = _table(VictimIdentifier)
VICTIM_HASHES = _table(VictimHash)
OUTREACH = _table(Outreach)
WEB_USERS = _table(WebUser)
WEB_SESSIONS = _table(WebSession)
LOGIN_ATTEMPTS = _table(LoginAttempt)
REVEALS = _table(Reveal)
REVIEW_DAYS = _table(ReviewDay)
WEB_SETTINGS = _table(WebSetting)

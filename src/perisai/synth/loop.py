"""The write loop: the basic-group prologue, then one message per slot of the plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from perisai.synth.chat import Chat
from perisai.synth.generator import Stream
from perisai.synth.jsonfmt import ExportWriter
from perisai.synth.lexicon import CHATTER
from perisai.synth.media import MediaWriter
from perisai.synth.plan import Event
from perisai.synth.text import TextBuilder

PROGRESS_EVERY = 1000


def _prologue(
    chat: Chat, stream: Stream, i: int, last: int, epoch: int, title: str
) -> dict[str, Any]:
    """The group began as a basic group; its messages keep negative ids after migration."""
    creator = chat.admins[0]
    members = [j for j, s in enumerate(chat.senders) if not (s.is_admin or s.is_bot) and s.name]
    founders = chat.admins + members[:3]
    if i == last:  # the supergroup's own first message
        chat.next_id = 2
        return chat.service(1, epoch, creator, "migrate_from_group", title=title)
    mid = -(i + 1)
    if i == 0:
        for j in founders:
            stream.seen[j] = 1
        names = [chat.senders[j].name for j in founders[:3]]
        return chat.service(mid, epoch, creator, "create_group", title=title, members=names)
    if i == 1:
        names = [chat.senders[j].name for j in founders[3:]] or [chat.senders[founders[-1]].name]
        return chat.service(mid, epoch, creator, "invite_members", members=names)
    if i == last - 1:
        return chat.service(mid, epoch, creator, "migrate_to_supergroup")
    msg = chat.head(mid, "message", epoch)
    chat.sent_by(msg, founders[i % len(founders)])
    b = TextBuilder()
    b.lit(chat.rng.choice(CHATTER))
    chat.finish_text(msg, b)
    return msg


def _media_message(
    chat: Chat, stream: Stream, media: MediaWriter, ev: Event, epoch: int
) -> dict[str, Any]:
    rng = chat.rng
    sender = chat.pick_sender()
    stream.seen[sender] = 1
    mid = chat.take_id()
    msg = chat.head(mid, "message", epoch)
    chat.sent_by(msg, sender)
    if ev.kind == "repeat" and rng.random() < 0.5:
        name, ref = rng.choice(stream.forwards)
        msg["forwarded_from"] = name
        if chat.era.forwarded_from_id and ref is not None:
            msg["forwarded_from_id"] = ref
    msg.update(media.render(ev, mid, epoch))
    b, kind = None, "media"
    if ev.kind in ("original", "derived", "repeat", "placeholder_photo"):
        b, kind = stream.caption(ev.person, sender)
    chat.finish_text(msg, b)
    extra: dict[str, Any] = {"media": ev.path} if ev.path else {"media_placeholder": True}
    stream.record(mid, kind, b, **extra)
    if ev.kind == "original" and ev.person is not None and rng.random() < 0.4:
        # The dox follows the picture: the link the at-risk register must find.
        stream.pending_followup = (sender, ev.person, ev.path or "")
    return msg


def write_all(
    out: TextIO,
    chat: Chat,
    stream: Stream,
    media: MediaWriter,
    n: int,
    prologue: int,
    media_plan: dict[int, Event],
    specials: dict[int, tuple[str, Any]],
    first_title: str,
    progress: Callable[[int, int], None] | None,
) -> None:
    writer = ExportWriter(
        out, chat.title, "private_supergroup", chat.era.chat_id_in_export(chat.bare_id)
    )
    rng = chat.rng
    planned: dict[int, Any] = {**specials, **media_plan}
    if progress:
        progress(0, n)
    for i in range(n):
        epoch = chat.tick()
        plan = planned.get(i)
        if i < prologue:
            msg = _prologue(chat, stream, i, prologue - 1, epoch, first_title)
        elif type(plan) is Event:
            msg = _media_message(chat, stream, media, plan, epoch)
        elif plan is not None:
            what, arg = plan
            msg = stream.special(what, chat.take_id(), epoch, arg)
        else:
            mid = chat.take_id()
            msg = stream.pending(mid, epoch) or (
                stream.service(mid, epoch) if rng.random() < 0.03 else stream.user(mid, epoch)
            )
        if msg["type"] == "message" and msg["id"] > 0:
            chat.remember(msg["id"])
        writer.message(msg)
        if progress and (i + 1) % PROGRESS_EVERY == 0:
            progress(i + 1, n)
    writer.close()
    if progress and n % PROGRESS_EVERY:
        progress(n, n)

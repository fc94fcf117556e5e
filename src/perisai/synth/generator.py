"""The message stream: one iteration writes exactly one message, so counts are exact and
nothing grows with the number of messages except the output files.
"""

from __future__ import annotations

from typing import Any

from perisai.synth import compose as C
from perisai.synth import lexicon as L
from perisai.synth.chat import Chat
from perisai.synth.names import INLINE_BOTS
from perisai.synth.pii import Person, contact_phone, location_near, render_phone
from perisai.synth.rand import Rand
from perisai.synth.text import TextBuilder, add_tme
from perisai.synth.truth import TruthWriter

TTL_PERIODS = [86400, 604800, 2678400]


class Stream:
    def __init__(
        self, chat: Chat, persons: list[Person], truth: TruthWriter, forwards: list[Any]
    ) -> None:
        self.chat, self.persons, self.truth, self.forwards = chat, persons, truth, forwards
        self.rng = chat.rng
        self.book = C.SellerBook(Rand(f"{chat.rng.random()}:sellers"))
        self.seen = bytearray(len(chat.senders))
        self.pending_pins: list[tuple[int, int]] = []  # (admin, message id), oldest first
        self.pending_post: int | None = None
        self.pending_followup: tuple[int, int, str] | None = None  # sender, person, photo
        self.pending_welcome: str | None = None

    # Helpers.

    def person(self) -> Person:
        # Squaring skews the choice: a few women are exposed again and again.
        return self.persons[int(len(self.persons) * self.rng.random() ** 2)]

    def admin(self) -> int:
        return self.rng.choice(self.chat.admins)

    def record(self, mid: int, kind: str, b: TextBuilder | None, **extra: Any) -> None:
        if not extra and (b is None or not (b.pii or b.intents or b.cues)):
            return  # most messages plant nothing
        rec: dict[str, Any] = {"id": mid, "kind": kind}
        if b is not None:
            if b.pii:
                rec["pii"] = b.pii
            if b.intents:
                rec["intents"] = b.intents
            if b.cues:
                rec["dox_cues"] = b.cues
        if kind in ("dox", "dox_casual") and b is not None and b.pii:
            # A dox is about one woman; the at-risk register must merge what it exposes.
            rec["dox"] = {"person": b.pii[0].get("person"), "labelled": kind == "dox"}
        rec.update(extra)
        self.truth.message(rec)

    def compose(self, kind: str, sender: int, person: Person | None) -> TextBuilder:
        rng, b = self.rng, TextBuilder()
        uid = self.chat.senders[sender].uid
        if kind == "chatter":
            C.chatter(rng, b, self.chat.senders[self.chat.pick_sender()])
        elif kind == "trade":
            C.trade(rng, b, self.book.get(uid))
        elif kind == "seller":
            C.seller(rng, b, self.book.get(uid))
        elif kind == "backup":
            C.backup(rng, b)
        elif person is None:
            raise ValueError(f"{kind} needs a person")
        elif kind == "solicitation":
            C.solicitation(rng, b, person)
        elif kind == "sextortion":
            C.sextortion(rng, b, person, self.book.get(uid))
        elif kind == "dox":
            C.dox(rng, b, person)
        else:
            C.dox_casual(rng, b, person)
        return b

    # One message each.

    def service(self, mid: int, epoch: int) -> dict[str, Any]:
        chat, rng = self.chat, self.rng
        roll = rng.random()
        if roll < 0.25:
            new = [
                i
                for i in (chat.pick_sender() for _ in range(rng.randrange(1, 4)))
                if not self.seen[i]
            ]
            for i in new:
                self.seen[i] = 1
            # Nobody new: re-adding an account that has since been deleted (a null member).
            members = [chat.senders[i].name for i in new] or [chat.senders[-3].name]
            return chat.service(mid, epoch, self.admin(), "invite_members", members=members)
        if roll < 0.45:
            victim = chat.pick_sender()
            if not chat.senders[victim].is_admin:
                return chat.service(
                    mid, epoch, self.admin(), "remove_members", members=[chat.senders[victim].name]
                )
        joiner = chat.pick_sender()
        self.seen[joiner] = 1
        if rng.random() < 0.3:
            self.pending_welcome = chat.senders[joiner].name or "member"
        if rng.random() < 0.1:
            return chat.service(mid, epoch, joiner, "join_group_by_request")
        inviter = chat.senders[self.admin()].name
        return chat.service(mid, epoch, joiner, "join_group_by_link", inviter=inviter)

    def special(self, what: str, mid: int, epoch: int, arg: Any) -> dict[str, Any]:
        chat = self.chat
        if what == "title":
            return chat.service(mid, epoch, self.admin(), "edit_group_title", title=arg)
        if what == "ttl":
            return chat.service(mid, epoch, self.admin(), "set_messages_ttl", period=arg)
        # A backup announcement by an admin, pinned right after.
        admin = self.admin()
        msg = chat.head(mid, "message", epoch)
        chat.sent_by(msg, admin)
        b = TextBuilder()
        C.backup(self.rng, b)
        chat.finish_text(msg, b)
        self.record(mid, "backup_announcement", b)
        self.pending_pins.append((admin, mid))
        return msg

    def pending(self, mid: int, epoch: int) -> dict[str, Any] | None:
        chat = self.chat
        if self.pending_pins:
            admin, target = self.pending_pins.pop(0)
            self.record(mid, "pin", None, pinned_message_id=target)
            return chat.service(mid, epoch, admin, "pin_message", message_id=target)
        if self.pending_post is not None:
            sender, self.pending_post = self.pending_post, None
            return self.user(mid, epoch, sender)
        if self.pending_followup is not None:
            sender, person, path = self.pending_followup
            self.pending_followup = None
            msg = chat.head(mid, "message", epoch)
            chat.sent_by(msg, sender)
            b = TextBuilder()
            C.dox(self.rng, b, self.persons[person])
            chat.finish_text(msg, b)
            self.record(mid, "dox", b, linked_media=[path])
            return msg
        if self.pending_welcome is not None:
            name, self.pending_welcome = self.pending_welcome, None
            bot = chat.bots[0]
            msg = chat.head(mid, "message", epoch)
            chat.sent_by(msg, bot)
            b = TextBuilder()
            b.lit(L.WELCOME.format(name=name))
            chat.finish_text(msg, b)
            return msg
        return None

    def user(self, mid: int, epoch: int, sender: int | None = None) -> dict[str, Any]:
        chat, rng = self.chat, self.rng
        if sender is None:
            sender = chat.pick_sender()
            if not self.seen[sender]:
                self.seen[sender] = 1
                if rng.random() < 0.75:  # a newcomer joins by link, then speaks
                    self.pending_post = sender
                    inviter = chat.senders[self.admin()].name
                    return chat.service(mid, epoch, sender, "join_group_by_link", inviter=inviter)
        if rng.random() < 0.006:
            return self.group_post(mid, epoch)
        kind = C.pick_kind(rng.random())
        msg = chat.head(mid, "message", epoch)
        if rng.random() < 0.05:
            chat.edited(msg, epoch)
        chat.sent_by(msg, sender)
        if kind in ("chatter", "trade", "backup") and rng.random() < 0.05:
            name, ref = rng.choice(self.forwards)
            msg["forwarded_from"] = name
            if chat.era.forwarded_from_id and ref is not None:
                msg["forwarded_from_id"] = ref
        if rng.random() < 0.12:
            target = chat.reply_target()
            if target is not None:
                msg["reply_to_message_id"] = target
        if kind in ("trade", "backup") and rng.random() < 0.15:
            msg["via_bot"] = rng.choice(INLINE_BOTS)
        person = self.person() if kind not in ("chatter", "trade", "seller", "backup") else None
        if person is None:
            b = self.compose(kind, sender, None)
            chat.finish_text(msg, b)
            self.record(mid, kind, b)
            return msg
        if kind == "contact":
            phone = contact_phone(person.nsn)
            msg["contact_information"] = {
                "first_name": person.short_name,
                "last_name": "",
                "phone_number": phone,
            }
            chat.finish_text(msg, None)
            found = {
                "kind": "pii.phone",
                "value": "+60" + person.nsn,
                "raw": phone,
                "where": "contact_information",
                "about": "victim",
                "person": person.index,
            }
            self.record(mid, kind, None, pii=[found])
            return msg
        if kind == "location":
            lat, lon = location_near(rng)
            msg["location_information"] = {"latitude": lat, "longitude": lon}
            chat.finish_text(msg, None)
            found = {
                "kind": "pii.location",
                "value": f"{lat},{lon}",
                "raw": f"{lat},{lon}",
                "where": "location_information",
                "about": "victim",
                "person": person.index,
            }
            self.record(mid, kind, None, pii=[found])
            return msg
        b = self.compose(kind, sender, person)
        chat.finish_text(msg, b)
        self.record(mid, kind, b)
        return msg

    def group_post(self, mid: int, epoch: int) -> dict[str, Any]:
        """Written in the group's name by an anonymous admin: rules or a backup link."""
        msg = self.chat.head(mid, "message", epoch)
        self.chat.sent_by(msg, None)
        b = TextBuilder()
        if self.rng.random() < 0.5:
            b.lit(self.rng.choice(L.RULES))
        else:
            b.lit(self.rng.choice(L.BACKUP_LEADS))
            add_tme(self.rng, b)
        self.chat.finish_text(msg, b)
        self.record(mid, "group_post", b)
        return msg

    def caption(self, ev_person: int | None, sender: int) -> tuple[TextBuilder | None, str]:
        roll = self.rng.random()
        if ev_person is not None and roll < 0.4:
            b = TextBuilder()
            person = self.persons[ev_person]
            kind = "dox_casual" if roll < 0.25 else "solicitation"
            (C.dox_casual if kind == "dox_casual" else C.solicitation)(self.rng, b, person)
            return b, kind
        if roll < 0.65:
            b = TextBuilder()
            C.trade(self.rng, b, self.book.get(self.chat.senders[sender].uid))
            return b, "trade"
        if roll < 0.75:
            b = TextBuilder()
            b.lit(self.rng.choice(L.CAPTION_TEXTS))
            if ev_person is not None:
                b.lit(" ")
                nsn = self.persons[ev_person].nsn
                b.add_pii(
                    "pii.phone", render_phone(self.rng, nsn), "+60" + nsn, "victim", ev_person
                )
            return b, "caption"
        return None, "media"

"""The chat being exported: ids, the clock, senders, and message objects in exporter key order.

Key order follows Telegram Desktop's SerializeMessage: id, type, date(s), edited, actor/action
fields or from/forward/reply/via_bot, media fields, then text and text_entities.
"""

from __future__ import annotations

import bisect
import random
from typing import Any

from perisai.synth.eras import Era, local_iso
from perisai.synth.jsonfmt import PlainEntities
from perisai.synth.names import Sender
from perisai.synth.text import TextBuilder

RING = 256
BURST_PAUSE = 0.02  # share of gaps eight times longer than the mean


class Chat:
    def __init__(
        self,
        era: Era,
        rng: random.Random,
        senders: list[Sender],
        bare_id: int,
        title: str,
        start: int,
        mean_gap: float,
    ) -> None:
        self.era, self.rng, self.senders = era, rng, senders
        self.bare_id, self.title = bare_id, title
        self.clock = start
        self.mean_gap = mean_gap
        self.next_id = 1
        self.service_count = 0
        self.refs = [era.user_ref(s.uid) for s in senders]
        cumulative, total = [], 0.0
        for s in senders:
            total += s.weight
            cumulative.append(total)
        self.cumulative, self.total_weight = cumulative, total
        self.admins = [i for i, s in enumerate(senders) if s.is_admin]
        self.bots = [i for i, s in enumerate(senders) if s.is_bot]
        self.recent = [0] * RING
        self.recent_count = 0

    # The clock and ids.

    def tick(self) -> int:
        # Bursty like a real group: mostly quick replies, now and then a long silence.
        gap = self.rng.expovariate(1.0 / self.mean_gap)
        if self.rng.random() < BURST_PAUSE:
            gap *= 8
        self.clock += int(gap)  # several messages can share a second in a busy group
        return self.clock

    def take_id(self) -> int:
        if self.rng.random() < 0.03:  # deleted messages leave gaps in the ids
            self.next_id += self.rng.randrange(1, 4)
        mid = self.next_id
        self.next_id += 1
        return mid

    def remember(self, mid: int) -> None:
        self.recent[self.recent_count % RING] = mid
        self.recent_count += 1

    def reply_target(self) -> int | None:
        n = min(self.recent_count, RING)
        return self.recent[self.rng.randrange(n)] if n else None

    def pick_sender(self) -> int:
        roll = self.rng.random() * self.total_weight
        return min(bisect.bisect_right(self.cumulative, roll), len(self.senders) - 1)

    # Message objects.

    def head(self, mid: int, kind: str, epoch: int) -> dict[str, Any]:
        msg: dict[str, Any] = {"id": mid, "type": kind, "date": local_iso(epoch)}
        if self.era.unixtime:
            msg["date_unixtime"] = str(epoch)
        return msg

    def edited(self, msg: dict[str, Any], epoch: int) -> None:
        when = epoch + self.rng.randrange(20, 4 * 3600)
        msg["edited"] = local_iso(when)
        if self.era.unixtime:
            msg["edited_unixtime"] = str(when)

    def service(
        self, mid: int, epoch: int, actor: int, action: str, **fields: Any
    ) -> dict[str, Any]:
        msg = self.head(mid, "service", epoch)
        msg["actor"] = self.senders[actor].name
        msg["actor_id"] = self.refs[actor]
        msg["action"] = action
        msg.update(fields)
        msg["text"] = ""
        if self.era.text_entities:
            msg["text_entities"] = []
        self.service_count += 1
        return msg

    def sent_by(self, msg: dict[str, Any], sender: int | None) -> None:
        """from/from_id; sender None is a post in the name of the group (anonymous admin)."""
        if sender is None:
            if self.era.channel_from:
                msg["from"] = self.title
                msg["from_id"] = self.era.channel_ref(self.bare_id)
            return
        msg["from"] = self.senders[sender].name
        msg["from_id"] = self.refs[sender]

    def finish_text(self, msg: dict[str, Any], b: TextBuilder | None) -> None:
        if b is None:
            msg["text"] = ""
            if self.era.text_entities:
                msg["text_entities"] = []
            return
        text = b.text_value()
        msg["text"] = text
        if self.era.text_entities:
            if type(text) is str and text:
                msg["text_entities"] = PlainEntities(text)
            else:
                msg["text_entities"] = b.entities_value()

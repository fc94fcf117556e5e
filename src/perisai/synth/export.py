"""synth(): a fictional abusive Telegram group, exported the way Telegram Desktop does it.

Separate random streams (people, plan, text, media) come from the seed, so the same arguments
give byte-identical files and nothing reads the clock or the global random state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from perisai.synth import lexicon as L
from perisai.synth import video
from perisai.synth.chat import BURST_PAUSE, Chat
from perisai.synth.eras import ERAS, TIMEZONE, UTC_OFFSET, Era, marked_supergroup_id
from perisai.synth.generator import TTL_PERIODS, Stream
from perisai.synth.loop import write_all
from perisai.synth.media import MediaWriter
from perisai.synth.names import make_senders, sender_count
from perisai.synth.pii import make_person
from perisai.synth.plan import (
    Event,
    backup_announcements,
    free_slots,
    minimum_messages,
    plan_media,
    prologue_length,
    special_count,
    title_changes,
)
from perisai.synth.rand import Rand
from perisai.synth.truth import TruthWriter

BUFFER = 1 << 20


def _check(out_dir: Path, messages: int, photos: int, videos: int, seed: int, era: str) -> None:
    for name, value in (
        ("messages", messages),
        ("photos", photos),
        ("videos", videos),
        ("seed", seed),
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    for name, value in (("messages", messages), ("photos", photos), ("videos", videos)):
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    if era not in ERAS:
        raise ValueError(f"unknown era {era!r}: choose one of {', '.join(ERAS)}")
    needed = minimum_messages(photos, videos)
    if messages < needed:
        raise ValueError(
            f"messages={messages} is too small for photos={photos}, videos={videos}: "
            f"need at least {needed}"
        )
    if videos and not video.available():
        raise ValueError("videos > 0 needs PyAV: pip install av (or pass videos=0)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise ValueError(f"{out_dir} is not empty: give a new or empty directory")


def synth(
    out_dir: Path,
    messages: int = 400,
    photos: int = 40,
    videos: int = 0,
    seed: int = 1,
    era: str = "current",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Writes result.json, media folders and ground_truth.json into out_dir (new or empty)."""
    out = Path(out_dir)
    _check(out, messages, photos, videos, seed, era)
    out.mkdir(parents=True, exist_ok=True)
    return _Run(out, messages, photos, videos, seed, ERAS[era], progress).run()


class _Run:
    def __init__(
        self,
        out: Path,
        messages: int,
        photos: int,
        videos: int,
        seed: int,
        era: Era,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.out, self.n, self.photos, self.videos = out, messages, photos, videos
        self.seed, self.era, self.progress = seed, era, progress
        people = Rand(f"perisai-synth:{seed}:people")
        self.plan_rng = Rand(f"perisai-synth:{seed}:plan")
        self.text_rng = Rand(f"perisai-synth:{seed}:text")
        self.media_rng = Rand(f"perisai-synth:{seed}:media")
        self.senders = make_senders(people, sender_count(messages), era.user_id_max)
        self.persons = [make_person(people, i) for i in range(max(3, min(2000, messages // 25)))]
        self.bare_id = people.randrange(*era.chat_id_range())
        self.basic_id = people.randrange(200_000_000, 999_999_999)
        self.titles = self.plan_rng.sample(L.TITLES, 1 + title_changes(messages))
        self.forwards: list[tuple[str, str | int | None]] = [
            (name, era.channel_ref(people.randrange(1_100_000_000, 2_900_000_000)))
            for name in L.FORWARD_CHANNELS
        ]
        self.forwards.append(("Abang Long Store", era.user_ref(people.randrange(10**8, 10**9))))
        self.forwards.append(("Hidden Seller", None))  # forwards privacy hides the id

    def _plan(self) -> None:
        rng, n = self.plan_rng, self.n
        self.prologue = lo = prologue_length(n)
        # Planned events sit in the first 90%, so that the pin after a backup link still fits.
        hi = lo + max(1, (n - lo) * 9 // 10)
        slots = free_slots(rng, lo, hi, set(), special_count(n))
        title_slots = sorted(rng.sample(slots, title_changes(n)))
        self.specials: dict[int, tuple[str, Any]] = {
            i: ("title", t) for i, t in zip(title_slots, self.titles[1:], strict=True)
        }
        rest: list[tuple[str, Any]] = [("ttl", rng.choice(TTL_PERIODS))]
        rest += [("backup", None)] * backup_announcements(n)
        rng.shuffle(rest)
        chosen = set(title_slots)
        self.specials.update(zip([i for i in slots if i not in chosen], rest, strict=True))
        # Keep a free slot after each backup announcement for its pin (written from the
        # stream's pending pins, which know the announcement's message id).
        taken = set(self.specials)
        for i in sorted(i for i, (what, _) in self.specials.items() if what == "backup"):
            j = i + 1
            while j in taken:
                j += 1
            taken.add(j)
        self.media_plan: dict[int, Event] = plan_media(
            rng, self.photos, self.videos, len(self.persons), lo, n, taken
        )

    def _timeline(self) -> tuple[int, float]:
        window = self.era.end - self.era.start
        offset = self.plan_rng.randrange(0, window // 10)
        usable = window - offset - 86400
        # The long pauses stretch the mean gap by 1 + 7 * BURST_PAUSE; keep a margin so even a
        # huge export ends inside its era.
        per_message = usable / self.n * 0.9 / (1 + 7 * BURST_PAUSE)
        return self.era.start + offset, min(1200.0, per_message)

    def run(self) -> dict[str, Any]:
        self._plan()
        start, gap = self._timeline()
        chat = Chat(
            self.era, self.text_rng, self.senders, self.bare_id, self.titles[-1], start, gap
        )
        media = MediaWriter(self.out, self.era, self.media_rng, self.persons)
        with (
            open(self.out / "result.json", "w", encoding="utf-8", buffering=BUFFER) as res,
            open(self.out / "ground_truth.json", "w", encoding="utf-8", buffering=BUFFER) as gt,
        ):
            truth = TruthWriter(gt, self._header())
            stream = Stream(chat, self.persons, truth, self.forwards)
            write_all(
                res,
                chat,
                stream,
                media,
                self.n,
                self.prologue,
                self.media_plan,
                self.specials,
                self.titles[0],
                self.progress,
            )
            self.counts = self._counts(chat, media, truth)
            truth.close(self._footer(media))
        return self._summary()

    def _counts(self, chat: Chat, media: MediaWriter, truth: TruthWriter) -> dict[str, Any]:
        recs = media.records
        files = [r for r in recs if r["path"] is not None]
        return {
            "messages": self.n,
            "service_messages": chat.service_count,
            "senders": len(self.senders),
            "persons": len(self.persons),
            "photos": sum(
                1
                for r in recs
                if r.get("derived_from") is None and r["kind"] == "photo" and r["path"] is not None
            ),
            "derived_photos": sum(1 for r in files if r.get("transform") and r["kind"] != "video"),
            "photo_messages": sum(len(r["message_ids"]) for r in recs if r["kind"] == "photo"),
            "videos": sum(1 for r in files if r["kind"] == "video" and not r.get("derived_from")),
            "derived_videos": sum(
                1 for r in files if r["kind"] == "video" and r.get("derived_from")
            ),
            "documents": sum(1 for r in files if r["kind"] == "file" and not r.get("width")),
            "placeholders": sum(1 for r in recs if r["path"] is None),
            "truth_records": truth.records,
            "pii": truth.pii,
            "findings_by_kind": dict(sorted(truth.kinds.items())),
        }

    def _header(self) -> dict[str, Any]:
        era = self.era
        return {
            "generator": {
                "seed": self.seed,
                "era": era.name,
                "messages": self.n,
                "photos": self.photos,
                "videos": self.videos,
            },
            "timezone": {"name": TIMEZONE, "utc_offset": UTC_OFFSET},
            "spans": "Python str indices into the canonical text (all text pieces concatenated)",
            "chat": {
                "name": self.titles[-1],
                "type": "private_supergroup",
                "id": self.bare_id,
                "id_in_export": era.chat_id_in_export(self.bare_id),
                "marked_id": marked_supergroup_id(self.bare_id),
                "titles": self.titles,
                "migrated_from": {
                    "id": self.basic_id,
                    "marked_id": -self.basic_id,
                    "title": self.titles[0],
                },
            },
        }

    def _footer(self, media: MediaWriter) -> dict[str, Any]:
        senders = [
            {
                "id": s.uid,
                "from_id": self.era.user_ref(s.uid),
                "name": s.name,
                "username": s.username,
                "bot": s.is_bot,
                "admin": s.is_admin,
                "deleted": s.name is None,
            }
            for s in self.senders
        ]
        senders.append(
            {
                "id": self.bare_id,
                "from_id": self.era.channel_ref(self.bare_id),
                "name": self.titles[-1],
                "group_itself": True,
                "written_in_export": self.era.channel_from,
            }
        )
        persons = [
            {
                "index": p.index,
                "name": p.full_name,
                "identifiers": [{"kind": k, "value": v} for k, v in p.identifiers],
            }
            for p in self.persons
        ]
        return {
            "media": media.records,
            "persons": persons,
            "senders": senders,
            "counts": self.counts,
        }

    def _summary(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out),
            "result_json": str(self.out / "result.json"),
            "ground_truth": str(self.out / "ground_truth.json"),
            "era": self.era.name,
            "seed": self.seed,
            "chat_id": self.bare_id,
            **self.counts,
        }

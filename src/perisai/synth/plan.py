"""Which message carries which medium: planned up front so streaming never looks back.

A near-duplicate is always posted after its original and an exact repost after its source, as
in a real group where people re-share what they saw earlier.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from perisai.synth.images import FILE_TRANSFORMS, TRANSFORMS

DOCUMENTS = 3


@dataclass(eq=False)  # identity: the plan looks events up in a list
class Event:
    kind: str  # original, derived, repeat, document, placeholder_photo, placeholder_file,
    # placeholder_video, video, video_derived
    number: int = 0  # original index, document index, video index
    source: Event | None = None
    transform: str = ""
    person: int | None = None
    path: str | None = None  # set when written
    record: dict[str, Any] = field(default_factory=dict)


def counts(photos: int, videos: int) -> dict[str, int]:
    """Media messages by kind: `photos` originals, near-duplicates and reposts on top."""
    media = photos > 0 or videos > 0
    return {
        "originals": photos,
        "derived": photos // 3,  # 36 or more originals show every transformation
        "repeats": photos // 8,
        "documents": DOCUMENTS if photos > 0 else 0,
        "placeholder_photos": max(2, photos // 10) if photos > 0 else 0,
        "placeholder_files": 2 if media else 0,
        "videos": videos,
        "video_derived": videos // 3,
    }


def media_messages(photos: int, videos: int) -> int:
    return sum(counts(photos, videos).values())


def prologue_length(messages: int) -> int:
    """create_group, invite_members, a little chatter, migrate_to and migrate_from."""
    return 4 + min(4, messages // 100)


def title_changes(messages: int) -> int:
    return 1 + min(5, messages // 5000)


def backup_announcements(messages: int) -> int:
    return 1 + min(200, messages // 1500)


def special_count(messages: int) -> int:
    """Planned service events: title changes, one TTL setting, pinned backup links."""
    return title_changes(messages) + 1 + backup_announcements(messages)


def minimum_messages(photos: int, videos: int) -> int:
    """The smallest export with room for the prologue, the planned events and the media."""
    media = media_messages(photos, videos)
    n = 12 + media
    while n < prologue_length(n) + special_count(n) + backup_announcements(n) + media:
        n += 1  # (each backup announcement is followed by its pin)
    return n


def free_slots(rng: random.Random, lo: int, hi: int, taken: set[int], k: int) -> list[int]:
    """k distinct positions in [lo, hi) outside `taken`, sorted, without listing the range
    (it can hold a million positions)."""
    free = hi - lo - sum(1 for t in taken if lo <= t < hi)
    if free <= 2 * k:
        pool = [i for i in range(lo, hi) if i not in taken]
        return sorted(rng.sample(pool, min(k, len(pool))))
    out: set[int] = set()
    while len(out) < k:
        i = rng.randrange(lo, hi)
        if i not in taken:
            out.add(i)
    return sorted(out)


def _insert_after(rng: random.Random, seq: list[Event], source: Event, event: Event) -> None:
    at = seq.index(source) + 1
    seq.insert(rng.randrange(at, len(seq) + 1), event)


def plan_media(
    rng: random.Random, photos: int, videos: int, persons: int, lo: int, hi: int, taken: set[int]
) -> dict[int, Event]:
    """Maps message positions in [lo, hi), outside `taken`, to media events."""
    c = counts(photos, videos)
    seq: list[Event] = []
    originals = []
    for k in range(c["originals"]):
        # About half the pictures are "of" a fictional woman, so doxes can link to them.
        person = rng.randrange(persons) if persons and rng.random() < 0.5 else None
        originals.append(Event("original", k, person=person))
    seq.extend(originals)
    order = TRANSFORMS[:]
    rng.shuffle(order)
    pictures: list[Event] = list(originals)
    for i in range(c["derived"]):
        src = rng.choice(originals)
        name = order[i % len(order)]
        ev = Event("derived", src.number, source=src, transform=name, person=src.person)
        _insert_after(rng, seq, src, ev)
        if name not in FILE_TRANSFORMS:
            pictures.append(ev)
    for _ in range(c["repeats"]):
        src = rng.choice(pictures)
        _insert_after(rng, seq, src, Event("repeat", source=src, person=src.person))
    loose = [Event("document", k) for k in range(c["documents"])]
    loose += [Event("placeholder_photo", k) for k in range(c["placeholder_photos"])]
    loose += [Event("placeholder_file", k) for k in range(c["placeholder_files"])]
    videos_ev = [Event("video", k) for k in range(c["videos"])]
    for ev in loose + videos_ev:
        seq.insert(rng.randrange(len(seq) + 1), ev)
    for k in range(c["video_derived"]):
        src = videos_ev[k % len(videos_ev)]
        _insert_after(rng, seq, src, Event("video_derived", k, source=src, transform="reencode"))
    positions = free_slots(rng, lo, hi, taken, len(seq))
    if len(positions) < len(seq):  # minimum_messages() rules this out; kept as a guard
        raise ValueError("not enough messages for the media")
    return dict(zip(positions, seq, strict=True))

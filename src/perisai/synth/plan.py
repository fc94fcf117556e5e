"""Which message carries which medium: planned up front so streaming never looks back.

A near-duplicate is always posted after its original and an exact repost after its source, as
in a real group where people re-share what they saw earlier.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from perisai.synth.images import FILE_TRANSFORMS, TRANSFORMS

DOCUMENTS = 3


@dataclass
class Event:
    kind: str  # original, derived, repeat, document, placeholder_photo, placeholder_file,
    # placeholder_video, video, video_derived
    number: int = 0  # original index, document index, video index
    source: Event | None = None
    transform: str = ""
    person: int | None = None
    path: str | None = None  # set when written
    record: dict[str, object] = field(default_factory=dict)


def counts(photos: int, videos: int) -> dict[str, int]:
    derived = photos // 3
    media = photos > 0 or videos > 0
    return {
        "originals": photos - derived,
        "derived": derived,
        "repeats": photos // 8,
        "documents": DOCUMENTS if photos > 0 else 0,
        "placeholder_photos": max(2, photos // 10) if photos > 0 else 0,
        "placeholder_files": 2 if media else 0,
        "videos": videos - videos // 3,
        "video_derived": videos // 3,
    }


def media_messages(photos: int, videos: int) -> int:
    return sum(counts(photos, videos).values())


def _insert_after(rng: random.Random, seq: list[Event], source: Event, event: Event) -> None:
    at = seq.index(source) + 1
    seq.insert(rng.randrange(at, len(seq) + 1), event)


def plan_media(
    rng: random.Random, photos: int, videos: int, persons: int, slots: range
) -> dict[int, Event]:
    """Maps message positions (indices into the message stream) to media events."""
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
    if len(seq) > len(slots):
        raise ValueError("not enough messages for the media")  # checked earlier, kept as guard
    positions = sorted(rng.sample(slots, len(seq)))
    return dict(zip(positions, seq, strict=True))

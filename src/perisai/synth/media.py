"""Writes media files the way Telegram Desktop lays them out, and returns the message fields.

Photos go to photos/photo_N@DD-MM-YYYY_HH-MM-SS.jpg, documents keep their names under files/,
videos go to video_files/ with a _thumb.jpg; skipped files leave the exporter's placeholder
text with their declared sizes (current era only: older exporters wrote no sizes).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

from PIL import Image

from perisai.synth import documents, images, video
from perisai.synth.eras import Era, camera_stamp, file_stamp, local_iso
from perisai.synth.lexicon import CAPTION_TEXTS
from perisai.synth.pii import Person
from perisai.synth.plan import Event

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
TOO_BIG = "(File exceeds maximum size. Change data exporting settings to download.)"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class MediaWriter:
    def __init__(self, root: Path, era: Era, rng: random.Random, persons: list[Person]) -> None:
        self.root, self.era, self.rng, self.persons = root, era, rng, persons
        self.photo_n = 0
        self.video_n = 0
        self.records: list[dict[str, Any]] = []
        # Message fields of every written file, so an exact repost can repeat them.
        self.fields: dict[str, dict[str, Any]] = {}

    def _rel(self, folder: str, name: str) -> tuple[str, Path]:
        (self.root / folder).mkdir(exist_ok=True)
        stem, dot, ext = name.rpartition(".")
        n = 0
        while (self.root / folder / name).exists():  # the exporter's own "name (1).ext"
            n += 1
            name = f"{stem} ({n}){dot}{ext}"
        return f"{folder}/{name}", self.root / folder / name

    def _record(self, ev: Event, rel: str | None, kind: str, msg_id: int, **extra: Any) -> None:
        rec: dict[str, Any] = {"path": rel, "kind": kind, "message_ids": [msg_id]}
        if rel is not None:
            full = self.root / rel
            rec["sha256"] = _sha256(full)
            rec["size"] = full.stat().st_size
        rec.update(extra)
        if ev.person is not None:
            rec["person"] = ev.person
        ev.path = rel
        ev.record = rec
        self.records.append(rec)

    def _sized(self, fields: dict[str, Any], key: str, path: Path | None, size: int = 0) -> None:
        if self.era.file_sizes:
            fields[key] = path.stat().st_size if path is not None else size

    def _save_photo(self, img: Image.Image, epoch: int, save: dict[str, Any]) -> tuple[str, Path]:
        self.photo_n += 1
        rel, full = self._rel("photos", f"photo_{self.photo_n}@{file_stamp(epoch)}.jpg")
        img.save(full, "JPEG", **save)
        return rel, full

    def _remember(self, rel: str, fields: dict[str, Any]) -> dict[str, Any]:
        self.fields[rel] = fields
        return fields

    def _photo_fields(self, rel: str, full: Path, w: int, h: int) -> dict[str, Any]:
        fields: dict[str, Any] = {"photo": rel}
        self._sized(fields, "photo_file_size", full)
        fields["width"], fields["height"] = w, h
        return fields

    def render(self, ev: Event, msg_id: int, epoch: int) -> dict[str, Any]:
        """Writes the file(s) of one media message and returns its media fields."""
        if ev.kind == "original":
            img = images.make_original(random.Random(f"{self.rng.random()}:original"))
            rel, full = self._save_photo(img, epoch, {"quality": images.ORIGINAL_QUALITY})
            self._record(
                ev, rel, "photo", msg_id, width=img.width, height=img.height, derived_from=None
            )
            return self._remember(rel, self._photo_fields(rel, full, img.width, img.height))
        if ev.kind == "derived":
            return self._derived(ev, msg_id, epoch)
        if ev.kind == "repeat":
            src = ev.source
            assert src is not None and src.path is not None
            src.record["message_ids"].append(msg_id)
            ev.path, ev.record = src.path, src.record
            return dict(self.fields[src.path])
        if ev.kind == "document":
            return self._document(ev, msg_id, epoch)
        if ev.kind in ("video", "video_derived"):
            return self._video(ev, msg_id, epoch)
        return self._placeholder(ev, msg_id)

    def _derived(self, ev: Event, msg_id: int, epoch: int) -> dict[str, Any]:
        src = ev.source
        assert src is not None and src.path is not None
        person = self.persons[ev.person] if ev.person is not None else None
        handle = "@" + (person.instagram if person else "lepak.geng")
        caption = self.rng.choice(CAPTION_TEXTS)
        clock = local_iso(epoch)[11:16]
        with Image.open(self.root / src.path) as original:
            img, params, save = images.derive(
                original, ev.transform, self.rng, caption, handle, clock
            )
        extra: dict[str, Any] = {
            "derived_from": src.path,
            "transform": {"name": ev.transform, **params},
            "pdq_expectation": images.PDQ_EXPECTATION[ev.transform],
        }
        if ev.transform in ("caption", "screenshot"):
            extra["embedded_text"] = params["text"]
            found: dict[str, Any] = {
                "kind": "pii.handle",
                "value": f"instagram:{handle[1:].lower()}",
                "raw": handle,
            }
            found |= {"about": "victim", "person": ev.person} if person else {"about": "group"}
            extra["embedded_pii"] = [found]
        if ev.transform not in images.FILE_TRANSFORMS:
            rel, full = self._save_photo(img, epoch, save)
            self._record(ev, rel, "photo", msg_id, width=img.width, height=img.height, **extra)
            return self._remember(rel, self._photo_fields(rel, full, img.width, img.height))
        # Sent as a file: keeps EXIF, CMYK or PNG as the reposter made them.
        ext = "png" if save.get("format") == "PNG" else "jpg"
        prefix = "Screenshot_" if ext == "png" else ("IMG_" if ev.transform != "cmyk" else "scan_")
        name = f"{prefix}{camera_stamp(epoch)}_{self.rng.randrange(100, 999)}.{ext}"
        rel, full = self._rel("files", name)
        img.save(full, **({"format": "JPEG"} | save))
        shown = src.record["width"], src.record["height"]
        fields = self._file_fields(
            rel, full, name, img, "image/png" if ext == "png" else "image/jpeg"
        )
        fields["width"], fields["height"] = shown
        extra["stored_size"] = [img.width, img.height]
        self._record(ev, rel, "file", msg_id, width=shown[0], height=shown[1], **extra)
        return self._remember(rel, fields)

    def _file_fields(
        self, rel: str, full: Path, name: str, thumb_src: Image.Image | None, mime: str
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"file": rel}
        if self.era.file_sizes:
            fields["file_name"] = name
        self._sized(fields, "file_size", full)
        if thumb_src is not None:
            trel, tfull = rel + "_thumb.jpg", full.with_name(full.name + "_thumb.jpg")
            images.thumbnail(thumb_src).save(tfull, "JPEG", quality=75)
            fields["thumbnail"] = trel
            self._sized(fields, "thumbnail_file_size", tfull)
        fields["mime_type"] = mime
        return fields

    def _document(self, ev: Event, msg_id: int, epoch: int) -> dict[str, Any]:
        name, mime, data, thumb = documents.document(ev.number)
        rel, full = self._rel("files", name)
        full.write_bytes(data)
        fields = self._file_fields(rel, full, name, thumb, mime)
        self._record(ev, rel, "file", msg_id, mime_type=mime)
        return self._remember(rel, fields)

    def _video(self, ev: Event, msg_id: int, epoch: int) -> dict[str, Any]:
        derived = ev.kind == "video_derived"
        if derived and ev.source is not None:
            seed = int(ev.source.record["frame_seed"])
        else:
            seed = self.rng.randrange(2**31)
        size, crf, seconds = ((240, 180), 34, 3) if derived else ((320, 240), 26, 3)
        self.video_n += 1
        rel, full = self._rel("video_files", f"video_{self.video_n}@{file_stamp(epoch)}.mp4")
        first = video.write_mp4(full, seed, size, seconds, crf)
        fields: dict[str, Any] = {"file": rel}
        self._sized(fields, "file_size", full)
        thumb = full.with_name(full.name + "_thumb.jpg")
        images.thumbnail(first).save(thumb, "JPEG", quality=75)
        fields["thumbnail"] = rel + "_thumb.jpg"
        self._sized(fields, "thumbnail_file_size", thumb)
        fields.update(
            media_type="video_file",
            mime_type="video/mp4",
            duration_seconds=seconds,
            width=size[0],
            height=size[1],
        )
        extra: dict[str, Any] = {
            "duration_seconds": seconds,
            "width": size[0],
            "height": size[1],
            "thumbnail": rel + "_thumb.jpg",
            "frame_seed": seed,
        }
        if derived and ev.source is not None:
            extra["derived_from"] = ev.source.path
            extra["transform"] = {
                "name": "reencode",
                "width": size[0],
                "height": size[1],
                "crf": crf,
            }
        self._record(ev, rel, "video", msg_id, **extra)
        return self._remember(rel, fields)

    def _placeholder(self, ev: Event, msg_id: int) -> dict[str, Any]:
        rng = self.rng
        fields: dict[str, Any]
        if ev.kind == "placeholder_photo":
            w, h = rng.choice(images.SIZES)
            size = rng.randrange(60_000, 260_000)
            fields = {"photo": NOT_INCLUDED}
            self._sized(fields, "photo_file_size", None, size)
            fields.update(width=w, height=h)
            self._record(
                ev,
                None,
                "photo",
                msg_id,
                placeholder=NOT_INCLUDED,
                declared_size=size,
                width=w,
                height=h,
            )
            return fields
        if ev.number % 2 == 0:
            name = f"full set {rng.randrange(2, 9)} (part {rng.randrange(1, 4)}).zip"
            size = rng.randrange(2_000_000, 40_000_000)
            fields = {"file": NOT_INCLUDED}
            if self.era.file_sizes:
                fields["file_name"] = name
            self._sized(fields, "file_size", None, size)
            fields["mime_type"] = "application/zip"
            self._record(
                ev,
                None,
                "file",
                msg_id,
                placeholder=NOT_INCLUDED,
                declared_size=size,
                file_name=name,
            )
            return fields
        size = rng.randrange(1_600_000_000, 2_000_000_000)
        fields = {"file": TOO_BIG}
        self._sized(fields, "file_size", None, size)
        fields["thumbnail"] = NOT_INCLUDED
        self._sized(fields, "thumbnail_file_size", None, rng.randrange(3000, 9000))
        seconds = rng.randrange(600, 3600)
        fields.update(
            media_type="video_file",
            mime_type="video/mp4",
            duration_seconds=seconds,
            width=1280,
            height=720,
        )
        self._record(
            ev,
            None,
            "video",
            msg_id,
            placeholder=TOO_BIG,
            declared_size=size,
            duration_seconds=seconds,
        )
        return fields

"""The victim registry: `perisai victim add | list | withdraw`.

A caseworker registers a person under a pseudonymous alias with her identifiers (phone, handle,
e-mail, MyKad) and, optionally, the hashes of her own pictures and videos made on her device by
`perisai victim-hash`. Identifiers are normalised exactly as the detectors normalise findings'
values and then kept only as HMAC-SHA256 under the case's "victim-id" purpose key: a raw value
is never stored, so the registry matches findings without being able to show them.

Image hashes match media by SHA-256, MD5, PDQ (her 8 dihedral variants, distance <= 31) and
vPDQ; the `victim_match` stage (stages/victim_match.py) writes those as `media.victim_match`
findings. Identifier matches are computed when listed, by keying every pii finding's value.

Withdrawal deletes her identifiers, hashes, findings and registry row in one transaction with
SQLite's secure_delete on, then VACUUMs and truncates the WAL, so none of her registration's
bytes are left in the database files. The custody log records only her numeric id and counts,
never the alias, a digest or a hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from .case import WRITE_WAIT_S, Case
from .custody import utc_now
from .detect.links import TME, canonical_path
from .detect.numbers import detect_numbers, ic_valid, normalise_phone
from .detect.pii import EMAIL, PLATFORMS, PROFILE_URL, TELEGRAM_NAME, detect_emails, detect_handles
from .errors import BadInput
from .store import models as m

V, VI, VH = m.VICTIMS, m.VICTIM_IDENTIFIERS, m.VICTIM_HASHES
F, MSG, CHAT = m.FINDINGS, m.MESSAGES, m.CHATS

PURPOSE = "victim-id"
IDENTIFIER_KINDS = ("pii.phone", "pii.handle", "pii.email", "pii.ic")
OPTION = {
    "pii.phone": "--phone",
    "pii.handle": "--handle",
    "pii.email": "--email",
    "pii.ic": "--ic",
}
MATCH_KIND = "media.victim_match"
HASHES_FORMAT = "perisai-victim-hashes"
HASHES_VERSION = 1
MAX_HASH_FILE = 64 << 20  # bytes: dense vPDQ of a few long videos stays far below this
MAX_HASH_ROWS = 1_000_000
MAX_RAW = 300  # characters of one identifier as typed
_HEX = re.compile(r"[0-9a-fA-F]+")
_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,48}[A-Za-z0-9_])?")
_PLATFORM_PREFIX = re.compile(r"\s*([A-Za-z][A-Za-z ]{0,12}?)\s*(?::\s*|\s+)@?(\S+)\s*")


# -- keyed identifiers ------------------------------------------------------------------------
def identifier_digest(case_or_key: Case | bytes, kind: str, normalised_value: str) -> str:
    """HMAC-SHA256 (hex) of `kind` NUL `value` under the case's "victim-id" purpose key.

    `case_or_key` is a Case or the 32-byte key from `case.keys.purpose("victim-id")` (pass the
    key when hashing many values: deriving it costs an HKDF). `normalised_value` must already be
    normalised as findings' values are (`normalise_identifier`)."""
    key = case_or_key if isinstance(case_or_key, bytes) else case_or_key.keys.purpose(PURPOSE)
    message = f"{kind}\0{normalised_value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _bad(kind: str, raw: str, why: str) -> BadInput:
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    return BadInput(f"{OPTION[kind]} {shown!r}: {why}")


def normalise_identifier(kind: str, raw: str) -> str:
    """The value a finding of `kind` would carry for `raw`, or BadInput naming the option."""
    if kind not in OPTION:
        raise BadInput(f"unknown identifier kind {kind!r}: choose from {', '.join(OPTION)}")
    if not isinstance(raw, str) or not raw.strip():
        raise _bad(kind, str(raw), "empty")
    raw = raw.strip()
    if len(raw) > MAX_RAW or any(ord(c) < 32 for c in raw):
        raise _bad(kind, raw, "too long or contains control characters")
    if kind == "pii.phone":
        norm = normalise_phone(raw) if re.fullmatch(r"[\d\s+().\-]+", raw) else None
        if norm is None:
            why = "not a phone number (Malaysian 01X-XXX XXXX, 03-XXXX XXXX, or +CC...)"
            raise _bad(kind, raw, why)
        return norm[0]
    if kind == "pii.ic":
        digits = re.sub(r"[\s\-]", "", raw)
        if not (len(digits) == 12 and digits.isdigit() and ic_valid(digits)):
            why = "not a MyKad number (12 digits YYMMDD-PB-###G, a real date, a valid PB code)"
            raise _bad(kind, raw, why)
        return digits
    if kind == "pii.email":
        value = raw.lower()
        if value.startswith("mailto:"):
            value = value[7:]
        if not EMAIL.fullmatch(value):
            raise _bad(kind, raw, "not an e-mail address")
        return value
    return _handle(raw)


def _handle(raw: str) -> str:
    kind = "pii.handle"
    if PROFILE_URL.fullmatch(raw):
        found = [f for f in detect_handles(raw) if f.detail.get("via") == "url"]
        if len(found) == 1:
            return found[0].value
        raise _bad(kind, raw, "a page on that site, not a profile")
    tme = TME.fullmatch(raw)
    if tme:
        canon = canonical_path(tme.group(1))
        if canon is None or canon[1] != "username":
            raise _bad(kind, raw, "a Telegram link that is not a username")
        return "telegram:" + canon[0].rsplit("/", 1)[1]
    m_ = _PLATFORM_PREFIX.fullmatch(raw)
    if m_ is None or m_.group(1).lower() not in PLATFORMS:
        names = "instagram, tiktok, facebook, twitter, telegram"
        raise _bad(kind, raw, f"write it as platform:name ({names}), e.g. instagram:nur.aisyah")
    platform = PLATFORMS[m_.group(1).lower()]
    name = m_.group(2).lstrip("@")
    if platform == "telegram":
        ok = TELEGRAM_NAME.fullmatch(name) is not None or (name.isdigit() and len(name) <= 20)
    else:
        ok = _NAME.fullmatch(name) is not None
    if not ok:
        raise _bad(kind, raw, f"not a valid {platform} username")
    return f"{platform}:{name.lower()}"


# -- the victim-hash file -----------------------------------------------------------------------
def _hex(value: Any, length: int, where: str) -> str:
    if not isinstance(value, str) or len(value) != length or not _HEX.fullmatch(value):
        raise BadInput(f"{where}: expected {length} hex characters")
    return value.lower()


def _quality(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise BadInput(f"{where}: quality must be a whole number from 0 to 100")
    return value


MAX_REGION_HASHES = 8 * 16  # per picture: a few regions, 8 dihedral variants each


def _local_rows(item: dict[str, Any], base: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """Rows for an image item's optional ``regions`` and ``orb`` (docs/regions.md).

    ``pdq_region``: one row per region hash (variant = position in the list). ``orb``: one row
    per keypoint, the 32-byte descriptor as 64 hex characters, variant = y * 65536 + x; one
    ``orb_size`` row holds the picture's width and height as ``WxH``."""
    from .media.features import unpack

    rows: list[dict[str, Any]] = []
    regions = item.get("regions")
    if regions is not None:
        if not isinstance(regions, list) or len(regions) > MAX_REGION_HASHES:
            raise BadInput(f"{where}: regions must be a list of at most {MAX_REGION_HASHES} hashes")
        for j, v in enumerate(regions):
            value = _hex(v, 64, f"{where}: regions[{j}]")
            rows.append({**base, "algorithm": "pdq_region", "value": value, "variant": j})
            rows[-1]["quality"] = None
    orb = item.get("orb")
    if orb is not None:
        if not isinstance(orb, str) or len(orb) > 200_000:
            raise BadInput(f"{where}: orb must be a base64 string")
        try:
            feats = unpack(orb)
        except ValueError as exc:
            raise BadInput(f"{where}: {exc}") from None
        rows.append(
            {**base, "algorithm": "orb_size", "value": f"{feats.width}x{feats.height}"}
            | {"variant": len(feats), "quality": None}
        )
        for (x, y), des in zip(feats.points.astype(int), feats.descriptors, strict=True):
            rows.append(
                {**base, "algorithm": "orb", "value": des.tobytes().hex()}
                | {"variant": int(y) * 65536 + int(x), "quality": None}
            )
    return rows


def read_hashes_file(path: Path | str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Validate a `victim-hash` document; (rows for victim_hashes without victim_id, counts).

    Items with an `error` (files her device could not hash) are skipped and counted. Nothing
    from the file is kept but hashes, qualities and item positions: file names are dropped.
    Raises BadInput naming `--hashes`, the file and the item for anything malformed."""
    path = Path(path)
    label = f"--hashes {path}"
    if not path.is_file():
        raise BadInput(f"{label}: no such file")
    size = path.stat().st_size
    if size > MAX_HASH_FILE:
        raise BadInput(f"{label}: {size} bytes is too large for a victim-hash file")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{label}: not UTF-8 text") from None
    except RecursionError:
        raise BadInput(f"{label}: JSON nested too deeply") from None
    except ValueError as exc:
        raise BadInput(f"{label}: not JSON ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(doc, dict) or doc.get("format") != HASHES_FORMAT:
        raise BadInput(f"{label}: not a {HASHES_FORMAT} document (made by `perisai victim-hash`)")
    if doc.get("version") != HASHES_VERSION or isinstance(doc.get("version"), bool):
        raise BadInput(f"{label}: unsupported version {doc.get('version')!r} (expected 1)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise BadInput(f"{label}: 'items' must be a list")
    rows: list[dict[str, Any]] = []
    counts = {"images": 0, "videos": 0, "skipped": 0}
    for i, item in enumerate(items):
        where = f"{label}: item {i}"
        if not isinstance(item, dict):
            raise BadInput(f"{where}: not an object")
        if "error" in item:
            counts["skipped"] += 1
            continue
        kind = item.get("kind")
        if kind not in ("image", "video"):
            raise BadInput(f"{where}: kind must be image or video")
        base = {"item": i, "kind": kind}
        for algorithm, length in (("sha256", 64), ("md5", 32)):
            value = _hex(item.get(algorithm), length, f"{where}: {algorithm}")
            rows.append({**base, "algorithm": algorithm, "value": value, "variant": None})
            rows[-1]["quality"] = None
        if kind == "image":
            pdq = _hex(item.get("pdq"), 64, f"{where}: pdq")
            quality = _quality(item.get("pdq_quality"), f"{where}: pdq_quality")
            variants = item.get("pdq_dihedral")
            if variants is None:
                variants = [pdq]
            if not isinstance(variants, list) or len(variants) != 8:
                raise BadInput(f"{where}: pdq_dihedral must be a list of 8 hashes")
            hexes = [_hex(v, 64, f"{where}: pdq_dihedral[{j}]") for j, v in enumerate(variants)]
            if hexes[0] != pdq:
                raise BadInput(f"{where}: pdq_dihedral[0] must equal pdq (the original first)")
            for j, value in enumerate(hexes):
                rows.append(
                    {**base, "algorithm": "pdq", "value": value, "variant": j, "quality": quality}
                )
            rows.extend(_local_rows(item, base, where))
            counts["images"] += 1
        else:
            frames = item.get("vpdq")
            if not isinstance(frames, list) or not frames:
                raise BadInput(f"{where}: vpdq must be a non-empty list of frame hashes")
            for j, frame in enumerate(frames):
                fw = f"{where}: vpdq[{j}]"
                if not isinstance(frame, dict):
                    raise BadInput(f"{fw}: not an object")
                index = frame.get("frame")
                if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**31:
                    raise BadInput(f"{fw}: frame must be a whole number from 0 to 2**31 - 1")
                value = _hex(frame.get("pdq"), 64, f"{fw}: pdq")
                quality = _quality(frame.get("quality"), fw)
                rows.append(
                    {
                        **base,
                        "algorithm": "vpdq",
                        "value": value,
                        "variant": index,
                        "quality": quality,
                    }
                )
            counts["videos"] += 1
        if len(rows) > MAX_HASH_ROWS:
            raise BadInput(f"{label}: more than {MAX_HASH_ROWS} hashes")
    return rows, counts


# -- add ----------------------------------------------------------------------------------------
def _check_alias(alias: str) -> str:
    alias = (alias or "").strip()
    if not alias:
        raise BadInput("--alias must not be empty")
    if len(alias) > 200 or any(ord(c) < 32 or c in "\u202a\u202b\u202c\u202d\u202e" for c in alias):
        raise BadInput("--alias must be at most 200 characters, without control characters")
    # The alias is the only thing kept in the clear: it must not carry her identifiers.
    if detect_numbers(alias) or detect_emails(alias) or "@" in alias:
        raise BadInput("--alias must be a pseudonym, not a phone, IC number, e-mail or handle")
    return alias


def add_victim(
    case: Case,
    alias: str,
    phones: Sequence[str] = (),
    handles: Sequence[str] = (),
    emails: Sequence[str] = (),
    ics: Sequence[str] = (),
    hashes_file: Path | str | None = None,
    who: str | None = None,
    match: bool = True,
) -> dict[str, Any]:
    """Register a person; everything is validated before anything is written (one transaction).

    Then (when `match`) runs the victim_match stage, so `list_victims` shows her media matches
    at once for media already hashed by `triage`. Returns {"id", "alias", "identifiers":
    {kind: n}, "hashes": {"images", "videos", "skipped"}, "matches": n}."""
    alias = _check_alias(alias)
    given: list[tuple[str, str]] = []
    for kind, values in zip(IDENTIFIER_KINDS, (phones, handles, emails, ics), strict=True):
        for raw in values or ():
            value = normalise_identifier(kind, raw)
            if (kind, value) not in given:
                given.append((kind, value))
    rows, hash_counts = read_hashes_file(hashes_file) if hashes_file is not None else ([], {})
    if not given and not rows:
        raise BadInput(
            "nothing to register: give --phone, --handle, --email, --ic or a --hashes file "
            "with at least one hashed picture or video"
        )
    key = case.keys.purpose(PURPOSE)
    id_counts: dict[str, int] = {}
    for kind, _ in given:
        id_counts[kind] = id_counts.get(kind, 0) + 1
    try:
        with case.begin() as conn:
            if conn.execute(select(V.c.id).where(V.c.alias == alias)).first() is not None:
                raise BadInput(f"--alias {alias!r} is already registered: choose another alias")
            victim_id = conn.execute(
                insert(V).values(
                    alias=alias,
                    registered_utc=utc_now(),
                    investigator=_who(who),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if given:
                conn.execute(
                    insert(VI),
                    [
                        {"victim_id": victim_id, "kind": k, "digest": identifier_digest(key, k, v)}
                        for k, v in given
                    ],
                )
            for start in range(0, len(rows), 5000):
                conn.execute(
                    insert(VH), [{**r, "victim_id": victim_id} for r in rows[start : start + 5000]]
                )
            body = {
                "victim_id": victim_id,
                "identifiers": id_counts,
                "hashes": {
                    "images": hash_counts.get("images", 0),
                    "videos": hash_counts.get("videos", 0),
                },
            }
            case.log(conn, "victim.add", body, who)
    except IntegrityError:
        raise BadInput(f"--alias {alias!r} is already registered: choose another alias") from None
    summary: dict[str, Any] = {
        "id": victim_id,
        "alias": alias,
        "identifiers": id_counts,
        "hashes": {
            "images": hash_counts.get("images", 0),
            "videos": hash_counts.get("videos", 0),
            "skipped": hash_counts.get("skipped", 0),
        },
    }
    if match:
        from .pipeline import triage

        triage(case, workers=1, only="victim_match", who=who)
    found = list_victims(case, victim_id=victim_id)
    summary["matches"] = len(found[0]["matches"]) if found else 0
    return summary


def _who(who: str | None) -> str:
    from . import settings

    return settings.investigator(who)


# -- list ---------------------------------------------------------------------------------------
def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else str(value)


def _match_rows(conn: Connection, where: Any) -> Iterable[Any]:
    return conn.execute(
        select(
            F.c.id,
            F.c.kind,
            F.c.value,
            F.c.source,
            F.c.media_sha256,
            F.c.detail,
            CHAT.c.tg_id,
            MSG.c.message_id,
            MSG.c.link,
            MSG.c.date_utc,
        )
        .select_from(F)
        .outerjoin(MSG, MSG.c.id == F.c.message_pk)
        .outerjoin(CHAT, CHAT.c.id == F.c.chat_id)
        .where(where)
        .order_by(MSG.c.date_utc, F.c.id)
    )


def _match(row: Any, algorithm: str | None, distance: int | None) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "chat_id": row.tg_id,
        "message_id": row.message_id,
        "link": row.link,
        "date_utc": _iso(row.date_utc),
        "source": row.source,
        "media_sha256": row.media_sha256,
        "algorithm": algorithm,
        "distance": distance,
    }


def list_victims(case: Case, victim_id: int | None = None) -> list[dict[str, Any]]:
    """Every registered person (or one) with what matched her; raw identifiers never appear.

    [{"id", "alias", "registered_utc", "identifiers": [{"kind", "matched_findings"}],
      "hashes": {"images", "videos"}, "matches": [{"kind", "chat_id", "message_id", "link",
      "date_utc", "source", "media_sha256", "algorithm", "distance"}]}]
    Identifier matches are pii findings whose keyed value equals one of her digests; media
    matches are the victim_match stage's findings. One entry per message and file."""
    key = case.keys.purpose(PURPOSE)
    out: list[dict[str, Any]] = []
    with case.engine.connect() as conn:
        query = select(V).order_by(V.c.id)
        if victim_id is not None:
            query = query.where(V.c.id == victim_id)
        people = conn.execute(query).all()
        if not people:
            return []
        ids = [p.id for p in people]
        idents: dict[str, list[tuple[int, int, str]]] = {}  # digest -> (victim, ident id, kind)
        by_victim: dict[int, list[dict[str, Any]]] = {p.id: [] for p in people}
        for row in conn.execute(select(VI).where(VI.c.victim_id.in_(ids)).order_by(VI.c.id)):
            idents.setdefault(row.digest, []).append((row.victim_id, row.id, row.kind))
            by_victim[row.victim_id].append({"id": row.id, "kind": row.kind, "n": 0})
        counts: dict[tuple[int, str], int] = {}
        for victim, kind, n in conn.execute(
            select(VH.c.victim_id, VH.c.kind, func.count(func.distinct(VH.c.item)))
            .where(VH.c.victim_id.in_(ids), VH.c.algorithm == "sha256")
            .group_by(VH.c.victim_id, VH.c.kind)
        ):
            counts[(victim, kind)] = n
        matches: dict[int, dict[tuple[Any, ...], dict[str, Any]]] = {p.id: {} for p in people}
        ident_hits: dict[int, set[tuple[Any, ...]]] = {}
        if idents:
            digest_of: dict[tuple[str, str], str] = {}
            for row in _match_rows(conn, F.c.kind.in_(IDENTIFIER_KINDS)):
                pair = (row.kind, row.value)
                digest = digest_of.get(pair)
                if digest is None:
                    digest = digest_of[pair] = identifier_digest(key, row.kind, row.value)
                for victim, ident_id, kind in idents.get(digest, ()):
                    if kind != row.kind:
                        continue
                    dedupe = (row.kind, row.tg_id, row.message_id, row.source, row.media_sha256)
                    matches[victim].setdefault(dedupe, _match(row, None, None))
                    ident_hits.setdefault(ident_id, set()).add(dedupe)
        for row in _match_rows(conn, (F.c.kind == MATCH_KIND) & (F.c.stage == "victim_match")):
            victim = (row.detail or {}).get("victim_id")
            if victim not in matches:
                continue
            detail = row.detail
            dedupe = (row.kind, row.tg_id, row.message_id, row.source, row.media_sha256)
            matches[victim].setdefault(
                dedupe, _match(row, detail.get("algorithm"), detail.get("distance"))
            )
        for p in people:
            out.append(
                {
                    "id": p.id,
                    "alias": p.alias,
                    "registered_utc": p.registered_utc,
                    "identifiers": [
                        {"kind": i["kind"], "matched_findings": len(ident_hits.get(i["id"], ()))}
                        for i in by_victim[p.id]
                    ],
                    "hashes": {
                        "images": counts.get((p.id, "image"), 0),
                        "videos": counts.get((p.id, "video"), 0),
                    },
                    "matches": list(matches[p.id].values()),
                }
            )
    return out


# -- withdraw -----------------------------------------------------------------------------------
def withdraw_victim(case: Case, alias: str, who: str | None = None) -> dict[str, Any]:
    """Delete her identifiers, hashes, media.victim_match findings and registry row; logged.

    On SQLite the deletion runs with secure_delete on (freed bytes are zeroed), then the
    database is VACUUMed and the WAL checkpointed and truncated, so no copy of her
    registration is left in perisai.db or perisai.db-wal. Returns {"id", "identifiers",
    "hashes", "findings", "vacuumed"}; the custody event `victim.withdraw` holds only her id and
    those counts."""
    alias = (alias or "").strip()
    sqlite = case.engine.dialect.name == "sqlite"
    with case.begin() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        row = conn.execute(select(V.c.id).where(V.c.alias == alias)).first()
        if row is None:
            raise BadInput(f"--alias {alias!r}: no registered person has that alias")
        victim_id = int(row.id)
        n_findings = conn.execute(
            delete(F).where(
                F.c.kind == MATCH_KIND,
                F.c.stage == "victim_match",
                F.c.value == f"victim:{victim_id}",
            )
        ).rowcount
        n_idents = conn.execute(delete(VI).where(VI.c.victim_id == victim_id)).rowcount
        n_hashes = conn.execute(delete(VH).where(VH.c.victim_id == victim_id)).rowcount
        conn.execute(delete(V).where(V.c.id == victim_id))
        body = {
            "victim_id": victim_id,
            "identifiers": n_idents,
            "hashes": n_hashes,
            "findings": n_findings,
        }
        case.log(conn, "victim.withdraw", body, who)
        if sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete=OFF")
    vacuumed = _scrub(case) if sqlite else False
    return {**body, "id": victim_id, "vacuumed": vacuumed}


def _scrub(case: Case) -> bool:
    """VACUUM (rewrites every page: no free page or stale cell survives) and empty the WAL."""
    with case.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Cases wait long for other writers (case.WRITE_WAIT_S); a scrub must not wait on a
        # reader that may keep the case open for hours (the review UI): try for a second.
        conn.exec_driver_sql("PRAGMA busy_timeout = 1000")
        try:
            conn.exec_driver_sql("VACUUM")
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
        except OperationalError:  # another process has the case open: the rows are gone anyway
            return False
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {WRITE_WAIT_S * 1000}")
    return not busy

"""Dossiers for caseworkers: one per exposed (at-risk) or registered person.

For caseworkers only (every page says so): it shows the exposed identifiers in full, because
the caseworker has to reach the person. It never shows images, not even blurred ones: linked
and matched files appear as counts and hashes. Where only part of a posted image matched her
photo (victim_match `detail.method` `pdq_region` or `features`, docs/regions.md), the match
says so in words, with the area in the posted image's pixels.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from .. import settings
from ..case import Case
from ..store import models as m
from . import common as c

PARTIAL_METHODS = ("pdq_region", "features")
PARTIAL = (
    "sebahagian imej ini sepadan dengan fotonya",
    "part of this image matches her photo",
)
WHOLE = ("seluruh imej sepadan dengan fotonya", "the whole image matches her photo")
_ROW = {"top": "atas", "middle": "tengah", "bottom": "bawah"}
_COL = {"left": "kiri", "centre": "tengah", "right": "kanan"}


def region_box(value: Any) -> list[int] | None:
    """A finding's `detail.region` as [x0, y0, x1, y1] (ints, x0 < x1, y0 < y1), or None."""
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    try:
        x0, y0, x1, y1 = (int(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        return None
    if min(x0, y0) < 0 or x1 <= x0 or y1 <= y0:
        return None
    return [x0, y0, x1, y1]


def area(box: list[int], width: int | None, height: int | None) -> tuple[str, str]:
    """A region of the posted image in words, Malay and English: the box in pixels, and with
    the image's size its share of the picture and where it lies."""
    x0, y0, x1, y1 = box
    text = f"x {x0}–{x1}, y {y0}–{y1}"
    if not width or not height:
        return (f"{text} piksel", f"{text} px")
    share = round(100 * (min(x1, width) - x0) * (min(y1, height) - y0) / (width * height))
    share = min(100, max(1, share))
    cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
    row = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    col = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    if (row, col) == ("middle", "centre"):
        ms_where, en_where = "tengah", "centre"
    else:
        ms_where, en_where = f"{_ROW[row]} {_COL[col]}", f"{row} {col}"
    return (
        f"{text} daripada {width}×{height} piksel (kira-kira {share}% imej, {ms_where})",
        f"{text} of {width}×{height} px (about {share}% of the image, {en_where})",
    )


def _victim_media(conn: Connection, ids: list[Any]) -> dict[tuple[Any, str], dict[str, Any]]:
    """(victim id, media sha256) -> how her photo matched that file: {"method", "partial",
    "says" (Malay, English), "area" (Malay, English) or None, "source_area" (features: the
    area of her photo, Malay, English) or None}."""
    F, MF, MA = m.FINDINGS, m.MEDIA_FILES, m.MEDIA_ANALYSIS
    rows = conn.execute(
        select(F.c.media_sha256, F.c.detail)
        .where(F.c.kind == "media.victim_match", F.c.media_sha256.is_not(None))
        .order_by(F.c.id)
    ).all()
    found = {
        (r.detail.get("victim_id"), r.media_sha256): r.detail
        for r in rows
        if isinstance(r.detail, dict) and r.detail.get("victim_id") in ids
    }
    shas = sorted({sha for _, sha in found})
    sizes: dict[str, tuple[Any, Any]] = {}
    for start in range(0, len(shas), 500):
        for r in conn.execute(
            select(
                MF.c.sha256,
                MF.c.width,
                MF.c.height,
                MA.c.width.label("aw"),
                MA.c.height.label("ah"),
            )
            .join(MA, MA.c.media_id == MF.c.id, isouter=True)
            .where(MF.c.sha256.in_(shas[start : start + 500]))
        ):
            sizes[r.sha256] = (r.aw or r.width, r.ah or r.height)
    out: dict[tuple[Any, str], dict[str, Any]] = {}
    for key, d in found.items():
        method = d.get("method") or d.get("algorithm")
        box = region_box(d.get("region"))
        partial = method in PARTIAL_METHODS and box is not None
        source = region_box(d.get("source_region")) if partial else None
        out[key] = {
            "method": method,
            "partial": partial,
            "says": PARTIAL if partial else WHOLE,
            "area": area(box, *sizes.get(key[1], (None, None))) if partial and box else None,
            "source_area": area(source, None, None) if source else None,
        }
    return out


TELEGRAM = (
    "Laporkan setiap mesej dalam aplikasi Telegram (tekan lama > Report), dan e-mel "
    "abuse@telegram.org dengan pautan mesej.",
    "Report each message in the Telegram app (long-press > Report) and e-mail "
    "abuse@telegram.org with the message links.",
)
POLICE = (
    "Buat laporan polis (PDRM, balai terdekat atau D11); bawa dosier ini dan pautan mesej.",
    "Make a police report (PDRM, nearest station or D11); bring this dossier and the links.",
)
MCMC = (
    "Aduan kepada MCMC: aduan.mcmc.gov.my.",
    "Complain to MCMC: aduan.mcmc.gov.my.",
)
STEPS = {
    "pii.phone": (
        "Pertimbangkan menukar nombor telefon; dalam tetapan privasi WhatsApp dan Telegram set "
        "'Nombor telefon' dan 'Gambar profil' kepada 'Kenalan saya' atau 'Tiada sesiapa'.",
        "Consider changing the phone number; in WhatsApp and Telegram privacy settings set "
        "'Phone number' and 'Profile photo' to 'My contacts' or 'Nobody'.",
    ),
    "pii.handle": (
        "Jadikan akaun media sosial peribadi, semak pengikut, hidupkan pengesahan dua langkah.",
        "Make the social-media account private, review followers, turn on two-step verification.",
    ),
    "pii.email": (
        "Tukar kata laluan e-mel, hidupkan pengesahan dua langkah, waspada e-mel pancingan data.",
        "Change the e-mail password, turn on two-step verification, watch for phishing.",
    ),
    "pii.ic": (
        "Nombor MyKad terdedah: maklumkan bank dan pantau penyalahgunaan identiti.",
        "MyKad number exposed: alert her bank and watch for identity misuse.",
    ),
    "pii.address": (
        "Alamat rumah terdedah: rancang keselamatan bersama pegawai kes dan polis.",
        "Home address exposed: make a safety plan with the caseworker and the police.",
    ),
    "pii.bank_account": (
        "Akaun bank terdedah: maklumkan bank.",
        "Bank account exposed: alert the bank.",
    ),
    "pii.plate": (
        "Nombor plat terdedah: ambil langkah keselamatan semasa memandu dan meletak kereta.",
        "Vehicle plate exposed: take care when driving and parking.",
    ),
}
IMAGES_ADULT = (
    "Jika imej intimnya tersebar: rujuk dia ke StopNCII.org (dia sendiri yang membuat hash di "
    "peranti sendiri; kita tidak menghantar bagi pihaknya).",
    "If her intimate images are circulating: refer her to StopNCII.org (she makes the hashes "
    "on her own device; we never submit for her).",
)
IMAGES_MINOR = (
    "Jika dia di bawah 18 tahun ketika imej diambil: rujuk ke Take It Down (NCMEC) dan "
    "laporkan kepada polis; jangan simpan atau hantar imej itu.",
    "If she was under 18 when the images were taken: refer to Take It Down (NCMEC) and report "
    "to the police; never keep or forward the images.",
)


def _steps(kinds: set[str], has_images: bool) -> list[tuple[str, str]]:
    steps = [TELEGRAM, POLICE, MCMC]
    steps += [STEPS[k] for k in STEPS if k in kinds]
    if has_images:
        steps += [IMAGES_ADULT, IMAGES_MINOR]
    return steps


# Postings listed per exposed person. The count and the time span cover all of them; the full
# list is in `perisai atrisk list --json` and the review UI. At ten million synthetic messages
# (18,540 people, about 450 postings each) listing every one made a 741 MB page.
REFS_SHOWN = 200


def context(case: Case, *, include_identities: bool = True, who: str | None = None) -> dict:
    # Highest risk first: the caseworker starts at the top.
    people = sorted(
        c.at_risk(case), key=lambda p: (-(p.get("dox_score") or 0), -p.get("occurrences", 0))
    )
    registered = c.registered_victims(case)
    with case.engine.connect() as conn:
        lk = c.Lookups(conn)
        how = _victim_media(conn, [v.get("id") for v in registered])
        dossiers = []
        for p in people:
            kinds = {i["kind"] for i in p["identifiers"]}
            refs = []
            messages = p.get("messages") or []
            for msg in messages[:REFS_SHOWN]:
                chat = lk.chat_by_tg.get(msg.get("chat_id"), {})
                ref = c.message_ref(chat, msg.get("message_id"), msg.get("link"))
                ref["date_utc"] = msg.get("date_utc")
                ref["sender"] = lk.user(msg.get("sender_id"))
                refs.append(ref)
            dossiers.append(
                {
                    "type": "atrisk",
                    "title": f"Orang terdedah #{p['id']} / Exposed person #{p['id']}",
                    "identifiers": [
                        {
                            "label": c.KIND_LABELS.get(i["kind"], (i["kind"], i["kind"])),
                            "value": i["value"],
                        }
                        for i in p["identifiers"]
                    ],
                    "exposed": sorted(
                        {c.KIND_LABELS.get(k, (k, k)) for k in kinds}, key=lambda x: x[1]
                    ),
                    "occurrences": p.get("occurrences", 0),
                    "chats": [
                        lk.chat_by_tg.get(x, {"tg_id": x, "name": None})
                        for x in p.get("chat_ids", [])
                    ],
                    "first_seen": p.get("first_seen"),
                    "last_seen": p.get("last_seen"),
                    "posted_by": [lk.user(u) for u in p.get("posted_by", [])],
                    "linked_media": p.get("linked_media", []),
                    "dox_score": p.get("dox_score"),
                    "status": p.get("status") or "not_contacted",
                    "refs": refs,
                    "refs_more": max(0, len(messages) - REFS_SHOWN),
                    "steps": _steps(kinds, bool(p.get("linked_media"))),
                }
            )
        for v in registered:
            matches = []
            for mt in v.get("matches", []):
                chat = lk.chat_by_tg.get(mt.get("chat_id"), {})
                ref = c.message_ref(chat, mt.get("message_id"), mt.get("link"))
                ref.update(
                    date_utc=mt.get("date_utc"),
                    kind=mt.get("kind"),
                    label=c.KIND_LABELS.get(mt.get("kind") or "", None),
                    media_sha256=mt.get("media_sha256"),
                    algorithm=mt.get("algorithm"),
                    distance=mt.get("distance"),
                    match=how.get((v.get("id"), mt.get("media_sha256") or ""))
                    if mt.get("kind") == "media.victim_match"
                    else None,
                )
                matches.append(ref)
            kinds = {i.get("kind") for i in v.get("identifiers", []) if i.get("matched_findings")}
            has_images = any(mt.get("media_sha256") for mt in v.get("matches", []))
            dossiers.append(
                {
                    "type": "registered",
                    "title": f"Berdaftar / Registered: {v.get('alias')}",
                    "alias": v.get("alias"),
                    "registered_utc": v.get("registered_utc"),
                    "identifiers_registered": [
                        {
                            "label": c.KIND_LABELS.get(i.get("kind") or "", (i.get("kind"),) * 2),
                            "matched": i.get("matched_findings", 0),
                        }
                        for i in v.get("identifiers", [])
                    ],
                    "hashes": v.get("hashes") or {},
                    "matches": matches,
                    "steps": _steps({k for k in kinds if k}, has_images),
                }
            )
        return {
            "title": ("Dosier Mangsa untuk Pegawai Kes", "Victim Dossiers for Caseworkers"),
            "kind": "victims",
            "confidential": (
                "SULIT: untuk pegawai kes sahaja. Jangan kongsi dengan platform atau orang awam.",
                "CONFIDENTIAL: for caseworkers only. Do not share with platforms or the public.",
            ),
            "generated": c.now_utc(),
            "investigator": settings.investigator(who),
            "dossiers": dossiers,
            "atrisk_count": len(people),
            "registered_count": len(registered),
            "custody": c.custody_summary(case, conn),
        }

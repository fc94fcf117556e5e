"""Dossiers for caseworkers: one per exposed (at-risk) or registered person.

For caseworkers only (every page says so): it shows the exposed identifiers in full, because
the caseworker has to reach the person. It never shows images, not even blurred ones: linked
and matched files appear as counts and hashes.
"""

from __future__ import annotations

from .. import settings
from ..case import Case
from . import common as c

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


def context(case: Case, *, include_identities: bool = True, who: str | None = None) -> dict:
    # Highest risk first: the caseworker starts at the top.
    people = sorted(
        c.at_risk(case), key=lambda p: (-(p.get("dox_score") or 0), -p.get("occurrences", 0))
    )
    registered = c.registered_victims(case)
    with case.engine.connect() as conn:
        lk = c.Lookups(conn)
        dossiers = []
        for p in people:
            kinds = {i["kind"] for i in p["identifiers"]}
            refs = []
            for msg in p.get("messages") or []:
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

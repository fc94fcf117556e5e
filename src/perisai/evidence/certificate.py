"""A draft certificate under s.90A of the Malaysian Evidence Act 1950, for the officer to adapt.

Facts only: the software and its version, the process, the custodian (a pseudonymous
investigator id), the hashes and what they do and do not prove. The officer's name, position
and signature are left as placeholders. Every value is escaped: exports come from hostile
spaces, and an ingested chat name could carry markup.
"""

from __future__ import annotations

import html
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

PLACEHOLDER = "[TO BE COMPLETED BY THE CERTIFYING OFFICER]"


def _clean(value: Any) -> str:
    """Plain text with control and bidirectional-override characters made visible."""
    out = []
    for ch in str(value):
        cat = unicodedata.category(ch)
        if ch in "\n\t":
            out.append(ch)
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out)


def _myt(utc_text: str) -> str:
    try:
        when = datetime.strptime(utc_text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return ""
    return (when + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S MYT (UTC+8)")


def facts_lines(facts: dict[str, Any]) -> list[tuple[str, str]]:
    """The certificate's factual statements as (label, value) pairs, in order."""
    created = facts["created_utc"]
    exports = facts.get("exports") or []
    export_lines = "; ".join(
        f"export {e['export_id']} ingested {e['time_utc']} UTC, result.json SHA-256 "
        f"{e['result_sha256']}"
        for e in exports
    )
    return [
        ("Software", f"Perisai {facts['tool_version']} (open-source, AGPL-3.0-or-later)"),
        ("Case identifier", facts.get("case_id") or "(none)"),
        ("Bundle created", f"{created} UTC ({_myt(created)})"),
        ("Custodian (pseudonymous investigator id)", facts["investigator"]),
        ("Telegram exports preserved", export_lines or "none"),
        (
            "Custody log",
            f"{facts['custody_events']} events, newest event {facts['head_seq']} with "
            f"SHA-256 {facts['head_sha256']}",
        ),
        ("Files listed in manifest.json", str(facts["file_count"])),
        ("Ed25519 signing key fingerprint (SHA-256 of the raw key)", facts["fingerprint"]),
    ]


PROCESS = [
    "Telegram Desktop exports (result.json and media folders) made by the investigator were "
    "read by Perisai without modification. Every file was hashed with SHA-256 (and MD5 and "
    "SHA-1 for exchange) at intake, and message rows were stored with their own hashes.",
    "Media bytes are kept encrypted in the case vault. Files matching a list of known child "
    "sexual abuse material were removed (or sealed to a police key) at once; this bundle holds "
    "no media bytes, only hashes, counts and message references.",
    "Every action on the case (intake, analysis, review decisions, reports, exports) was "
    "recorded in an append-only custody log in which each event carries the SHA-256 of the "
    "event before it. The whole log is in custody/custody.jsonl.",
    "The computer running Perisai was operating properly throughout, or if not, any period in "
    "which it was not did not affect the production of these documents: "
    + PLACEHOLDER
    + " (the officer states this from their own knowledge).",
]

PROVES = [
    "A matching SHA-256 proves a file is the same, bit for bit, as when it was hashed: at "
    "intake for exports and media, at bundle creation for the files in this bundle.",
    "The Ed25519 signature over manifest.json proves the manifest (and so every file it "
    "lists) was produced with this case's signing key and has not changed since.",
    "A hash does NOT prove that the Telegram content is authentic, that an account belongs to "
    "a particular person, or that a message was sent at the time shown. Message links and "
    "numeric Telegram ids are given so police can request records from the platform.",
]


def render(facts: dict[str, Any]) -> tuple[str, str]:
    """(html, text) of the draft certificate for these facts."""
    lines = facts_lines(facts)
    title = "DRAFT certificate under section 90A, Evidence Act 1950 (Malaysia)"
    text = [title, "=" * len(title), "", "NOT SIGNED. For the certifying officer to review.", ""]
    text.append("I, " + PLACEHOLDER + " (name), " + PLACEHOLDER + " (position), certify that:")
    text.append("")
    text += [f"- {label}: {_clean(value)}" for label, value in lines]
    text += ["", "Process", "-------"] + [f"- {p}" for p in PROCESS]
    text += ["", "What the hashes prove and do not prove", "-" * 38] + [f"- {p}" for p in PROVES]
    text += [
        "",
        "Signature: " + PLACEHOLDER,
        "Name: " + PLACEHOLDER,
        "Date: " + PLACEHOLDER,
        "",
    ]
    e = html.escape
    rows = "\n".join(
        f"<tr><th>{e(label)}</th><td>{e(_clean(value))}</td></tr>" for label, value in lines
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{{font-family:serif;max-width:50em;margin:2em auto}}th{{text-align:left;
vertical-align:top;padding-right:1em}}td{{font-family:monospace;word-break:break-all}}
.ph{{background:#ffd}}</style></head>
<body>
<h1>{e(title)}</h1>
<p><strong>NOT SIGNED. A draft for the certifying officer to review and complete.</strong></p>
<p>I, <span class="ph">{e(PLACEHOLDER)}</span> (name),
<span class="ph">{e(PLACEHOLDER)}</span> (position), certify that:</p>
<table>
{rows}
</table>
<h2>Process</h2>
<ul>{"".join(f"<li>{e(p)}</li>" for p in PROCESS)}</ul>
<h2>What the hashes prove and do not prove</h2>
<ul>{"".join(f"<li>{e(p)}</li>" for p in PROVES)}</ul>
<p>Signature: <span class="ph">{e(PLACEHOLDER)}</span><br>
Name: <span class="ph">{e(PLACEHOLDER)}</span><br>
Date: <span class="ph">{e(PLACEHOLDER)}</span></p>
</body></html>
"""
    return page, "\n".join(text)

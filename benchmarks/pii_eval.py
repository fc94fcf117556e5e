"""Recall and precision of perisai.detect, on a hand-labelled set and on synthetic ground truth.

    .venv/bin/python benchmarks/pii_eval.py [--messages 2000] [--no-presidio]

(1) benchmarks/data/pii_labelled.jsonl: one {"text", "expect": [{"kind", "value"}], "tags"}
    per line, about half hard negatives (prices, order numbers, dates, invalid ICs, ...).
(2) A fresh `perisai.synth` export (photos=0): its ground_truth.json says what was planted.
    Messages are read as the ingester reads them (canonical text + entities + contacts).
Then detector throughput on the synthetic text, and Presidio (pattern recognizers only, no
spaCy model) on the same text when presidio-analyzer is installed (a benchmark-only dependency).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from perisai.detect import detect_contact, detect_entities, detect_text
from perisai.detect.numbers import normalise_phone
from perisai.ingest.normalize import canonical_text
from perisai.synth import synth

HERE = Path(__file__).resolve().parent
LABELLED = HERE / "data" / "pii_labelled.jsonl"
PII_KINDS = [
    "pii.phone", "pii.ic", "pii.email", "pii.handle", "pii.address",
    "pii.bank_account", "pii.plate", "link.telegram",
]  # fmt: skip
INTENT_KINDS = ["intent.trade", "intent.sextortion", "intent.solicitation"]
TARGETS = {"pii.phone": (0.97, 0.95), "pii.ic": (0.97, 0.95), "pii.email": (0.97, 0.95),
           "pii.handle": (0.90, None), "pii.address": (0.90, None)}  # fmt: skip

Key = tuple[Any, str, str]  # (message, kind, value)


class Tally:
    def __init__(self) -> None:
        self.tp: Counter[str] = Counter()
        self.fn: Counter[str] = Counter()
        self.fp: Counter[str] = Counter()
        self.misses: list[tuple[Any, str, str]] = []
        self.false: list[tuple[Any, str, str]] = []

    def add(self, truth: set[Key], found: set[Key], kinds: Iterable[str]) -> None:
        kinds = set(kinds)
        for key in truth:
            if key[1] in kinds:
                if key in found:
                    self.tp[key[1]] += 1
                else:
                    self.fn[key[1]] += 1
                    self.misses.append(key)
        for key in found - truth:
            if key[1] in kinds:
                self.fp[key[1]] += 1
                self.false.append(key)

    def table(self, title: str, kinds: list[str]) -> str:
        rows = [f"### {title}", "", "| kind | truth | found | recall | precision | target |",
                "| --- | ---: | ---: | ---: | ---: | --- |"]  # fmt: skip
        for k in kinds:
            tp, fn, fp = self.tp[k], self.fn[k], self.fp[k]
            rec = f"{tp / (tp + fn):.3f}" if tp + fn else "-"
            prec = f"{tp / (tp + fp):.3f}" if tp + fp else "-"
            want = TARGETS.get(k)
            target = "" if not want else f"R>={want[0]}" + (f", P>={want[1]}" if want[1] else "")
            rows.append(f"| {k} | {tp + fn} | {tp + fp} | {rec} | {prec} | {target} |")
        return "\n".join(rows)


def keys(msg: Any, findings: Iterable[Any]) -> set[Key]:
    return {(msg, f.kind, f.value) for f in findings}


def eval_labelled() -> Tally:
    tally = Tally()
    with LABELLED.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            truth = {(i, e["kind"], e["value"]) for e in row["expect"]}
            tally.add(truth, keys(i, detect_text(row["text"])), PII_KINDS)
    return tally


def load_synth(n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    tmp = tempfile.mkdtemp(prefix="perisai-pii-eval-")
    synth(Path(tmp) / "export", messages=n, photos=0, videos=0, seed=7)
    root = Path(tmp) / "export"
    export = json.loads((root / "result.json").read_text(encoding="utf-8"))
    truth = json.loads((root / "ground_truth.json").read_text(encoding="utf-8"))
    return [m for m in export["messages"] if m.get("type") == "message"], truth


def eval_synth(messages: list[dict[str, Any]], truth: dict[str, Any]) -> tuple[Tally, int]:
    planted: dict[int, set[Key]] = {}
    for rec in truth["messages"]:
        s = planted.setdefault(rec["id"], set())
        s.update((rec["id"], p["kind"], p["value"]) for p in rec.get("pii", []))
        s.update((rec["id"], p["kind"], p["kind"]) for p in rec.get("intents", []))
    # Members @mentioning each other (chatter) are real Telegram handles but not planted PII:
    # they are left out of precision and counted separately.
    members = {f"telegram:{s['username'].lower()}" for s in truth["senders"] if s.get("username")}
    members |= {f"telegram:{s['id']}" for s in truth["senders"]}
    tally, member_mentions = Tally(), 0
    for m in messages:
        text, entities = canonical_text(m.get("text", ""))
        found = detect_text(text) + detect_entities(entities, text)
        if "contact_information" in m:
            found += detect_contact(m["contact_information"])
        got = keys(m["id"], found)
        intents = {(m["id"], f.kind, f.kind) for f in found if f.kind.startswith("intent.")}
        got = {k for k in got if not k[1].startswith("intent.")} | intents
        dropped = {k for k in got if k[1] == "pii.handle" and k[2] in members}
        member_mentions += len(dropped - planted.get(m["id"], set()))
        tally.add(planted.get(m["id"], set()), got - (dropped - planted.get(m["id"], set())),
                  PII_KINDS + INTENT_KINDS)  # fmt: skip
    return tally, member_mentions


def throughput(fn: Callable[[str], Any], texts: list[str], min_s: float = 1.0) -> float:
    n, start = 0, time.perf_counter()
    while True:
        normalise_phone.cache_clear()  # each pass starts cold, as a fresh case would
        for t in texts:
            fn(t)
        n += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= min_s:
            return n / elapsed


def presidio_setup() -> tuple[Callable[[str], Any] | None, str]:
    """Presidio's AnalyzerEngine with Malaysia-only pattern recognizers and no spaCy model."""
    try:
        import spacy
        from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_analyzer.recognizer_registry import RecognizerRegistry
    except ImportError as exc:
        return None, f"presidio-analyzer not installed ({exc.name}); skipped"

    class BlankEngine(SpacyNlpEngine):  # tokenizer only: no model download, works offline
        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank"}])
            self.nlp = {"en": spacy.blank("en")}

        def load(self) -> None:
            pass

    phone = PatternRecognizer(
        supported_entity="MY_PHONE",
        patterns=[
            Pattern("my_mobile", r"(?<!\d)(?:\+?60[ -]?|0)1\d[ .-]?\d{3,4}[ .-]?\d{4}(?!\d)", 0.6),
            Pattern(
                "my_fixed", r"(?<!\d)(?:\+?60[ -]?|0)[3-9]\d?[ .-]?\d{3,4}[ .-]?\d{4}(?!\d)", 0.4
            ),
        ],
        context=["tel", "phone", "hp", "whatsapp", "ws", "call", "hubungi", "nombor"],
    )
    ic = PatternRecognizer(
        supported_entity="MY_NRIC",
        patterns=[Pattern("mykad", r"(?<!\d)\d{2}[01]\d[0-3]\d[ -]?\d{2}[ -]?\d{4}(?!\d)", 0.5)],
        context=["ic", "nric", "mykad", "kp", "pengenalan"],
    )
    email = PatternRecognizer(
        supported_entity="EMAIL_ADDRESS",
        patterns=[Pattern("email", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}", 0.8)],
    )
    registry = RecognizerRegistry(recognizers=[phone, ic, email], supported_languages=["en"])
    engine = AnalyzerEngine(nlp_engine=BlankEngine(), registry=registry, supported_languages=["en"])
    kinds = {"MY_PHONE": "pii.phone", "MY_NRIC": "pii.ic", "EMAIL_ADDRESS": "pii.email"}

    def analyze(text: str) -> list[tuple[str, str]]:
        res = engine.analyze(text=text, language="en", score_threshold=0.3)
        return [(kinds[r.entity_type], text[r.start : r.end]) for r in res]

    return analyze, "presidio-analyzer with a blank spaCy tokenizer (no model download)"


def presidio_eval(analyze: Callable[[str], Any], messages: list[dict[str, Any]],
                  truth: dict[str, Any]) -> Tally:  # fmt: skip
    """Span-level: a planted phone/IC/e-mail counts as found when Presidio returns its raw text."""
    planted: dict[int, set[Key]] = {}
    for rec in truth["messages"]:
        for p in rec.get("pii", []):
            if p["kind"] in ("pii.phone", "pii.ic", "pii.email") and p.get("where") == "text":
                planted.setdefault(rec["id"], set()).add((rec["id"], p["kind"], p["raw"]))
    tally = Tally()
    for m in messages:
        text, _ = canonical_text(m.get("text", ""))
        if not text:
            continue
        found = {(m["id"], k, raw) for k, raw in analyze(text)}
        tally.add(planted.get(m["id"], set()), found, ["pii.phone", "pii.ic", "pii.email"])
    return tally


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument("--show-errors", type=int, default=0, help="print up to N misses/false hits")
    args = ap.parse_args()

    lab = eval_labelled()
    n_lab = sum(1 for _ in LABELLED.open(encoding="utf-8"))
    print(lab.table(f"Hand-labelled set ({n_lab} messages, {LABELLED.name})", PII_KINDS))
    messages, truth = load_synth(args.messages)
    syn, member_mentions = eval_synth(messages, truth)
    print()
    print(syn.table(f"perisai synth, messages={args.messages}, seed=7", PII_KINDS + INTENT_KINDS))
    print(f"\n({member_mentions} @mentions of group members found and not counted: not planted)")
    if args.show_errors:
        for name, t in (("labelled", lab), ("synth", syn)):
            print(f"\n{name} misses:", *t.misses[: args.show_errors], sep="\n  ")
            print(f"{name} false:", *t.false[: args.show_errors], sep="\n  ")

    texts = [canonical_text(m.get("text", ""))[0] for m in messages]
    texts = [t for t in texts if t]
    avg = sum(map(len, texts)) / len(texts)
    rate = throughput(detect_text, texts)
    print(f"\ndetect_text throughput: {rate:,.0f} messages/s on one core "
          f"({len(texts)} synthetic texts, mean {avg:.0f} chars)")  # fmt: skip
    longer = [t for t in texts if 60 <= len(t) <= 200]
    if longer:
        rate = throughput(detect_text, longer)
        print(f"detect_text throughput: {rate:,.0f} messages/s on the {len(longer)} texts of "
              f"60-200 chars (mostly PII-bearing: the slow path)")  # fmt: skip
    if args.no_presidio:
        return
    analyze, note = presidio_setup()
    print(f"\nPresidio: {note}")
    if analyze is not None:
        ptally = presidio_eval(analyze, messages, truth)
        print(ptally.table("Presidio pattern recognizers on the same synth text (span text)",
                           ["pii.phone", "pii.ic", "pii.email"]))  # fmt: skip
        prate = throughput(analyze, texts, min_s=2.0)
        print(f"\nPresidio throughput: {prate:,.0f} messages/s on one core")


if __name__ == "__main__":
    main()

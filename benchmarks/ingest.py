"""Ingest throughput and peak memory: perisai's streaming ingest against a json.load baseline.

For each export size a text-only synthetic Telegram Desktop export is generated once (not
timed). Then each contender runs in its own fresh Python process, pinned to one core where the
OS allows, so that its peak resident memory belongs to that run alone. "peak RSS" is the
high-water mark of the timed part only (Linux: VmHWM after resetting it through
/proc/self/clear_refs, so interpreter start-up and perisai's one-off scrypt key derivation do
not count; "process peak" is ru_maxrss over the whole child, set-up included):

  perisai   perisai.ingest.telegram_export.ingest() into a fresh SQLite case;
  baseline  json.load() of result.json, then every message inserted into a fresh SQLite table
            (chat, id, date, sender, text, raw JSON) with executemany in one transaction.

    .venv/bin/python benchmarks/ingest.py                  # 100k and 1M messages
    .venv/bin/python benchmarks/ingest.py --quick          # 10k and 50k
    .venv/bin/python benchmarks/ingest.py --sizes 200000 --workdir /tmp/bench   # keeps exports
    .venv/bin/python benchmarks/ingest.py --profile /tmp/ingest.prof --sizes 100000

Targets (issue): at least 30,000 messages/s on one core; peak memory under 400 MB, flat as the
export grows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
TARGET_RATE = 30_000  # messages per second, one core
TARGET_RSS_MB = 400
FLAT_TOLERANCE = 0.15  # the largest size's peak may exceed the smallest size's by this much
CONTENDERS = ("perisai", "baseline")
SEED = 20240601


# -- synthetic export ---------------------------------------------------------------------------
# A small fallback used only while perisai.synth is absent or unusable. It streams one
# private_supergroup chat in the newest export format (string ids, date_unixtime, text_entities),
# indented the way Telegram Desktop writes it.

_MALAY = (
    "saya nak tanya pasal barang ni masih ada lagi ke sebab nak beli untuk adik",
    "boleh pos ke Kota Bharu tak, kalau boleh berapa kos penghantaran",
    "jangan lupa mesyuarat esok pukul lapan malam dekat surau taman",
    "terima kasih semua yang datang majlis semalam, sangat meriah",
    "harga ni dah nego ke belum, saya ambil dua kalau boleh kurang sikit",
    "tolong share dengan kawan kawan yang berminat, stok terhad",
    "admin, kenapa mesej saya kena padam tadi, saya tak faham",
    "hari ni hujan lebat kat Shah Alam, jalan sesak teruk sangat",
    "siapa ada nombor telefon tukang paip yang bagus area Bangi",
    "aku rasa benda ni tipu je, jangan percaya sangat orang dalam group ni",
    "dah transfer duit semalam tapi barang tak sampai lagi sampai sekarang",
    "kedai tu buka pukul berapa hari Ahad, ada sesiapa tahu tak",
)
_ENGLISH = (
    "has anyone tried the new place near the LRT station, is it worth it",
    "please read the pinned message before posting links in this group",
    "I can meet at Mid Valley on Saturday afternoon if that works for you",
    "the seller stopped replying after I paid the deposit, be careful",
    "thanks for the info bro, will check it out this weekend",
    "new members please introduce yourselves and follow the group rules",
    "does anyone know if the highway is still closed because of the flood",
    "selling my old phone, good condition, price negotiable, PM me",
    "reminder that we do not allow spam or scam links here",
    "can someone explain what happened yesterday, I missed the whole thing",
)
_FILLER = ("ok", "lah", "kan", "je", "tau", "bro", "sis", "weh", "haha", "pls", "noted", "ya")
_GIVEN = (
    "Ahmad",
    "Siti",
    "Nurul",
    "Muhammad",
    "Aisyah",
    "Faizal",
    "Hafiz",
    "Farah",
    "Amirul",
    "Liyana",
    "Kumar",
    "Priya",
    "Wei Ling",
    "Jason",
    "Mei Xin",
    "Daniel",
    "Syafiq",
    "Aina",
    "Rizal",
    "Zul",
)
_FAMILY = (
    "Abdullah",
    "Ismail",
    "Rahman",
    "Hassan",
    "Tan",
    "Lim",
    "Wong",
    "Subramaniam",
    "Yusof",
    "Omar",
    "Ibrahim",
    "Lee",
    "Chong",
    "Razak",
    "Osman",
    "",
)
_FORWARD_SOURCES = (
    ("Berita Semasa Malaysia", "channel1187654321"),
    ("Info Trafik KL", "channel1298765432"),
    ("Promosi Hari Ini", "channel1309876543"),
)


def _text(rng: random.Random) -> str:
    """Malay, English or mixed prose, about 60 to 120 characters."""
    want = rng.randint(60, 120)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < want:
        pool = _MALAY if rng.random() < 0.6 else _ENGLISH
        sentence = rng.choice(pool)
        if rng.random() < 0.3:
            sentence += " " + rng.choice(_FILLER)
        parts.append(sentence)
    text = " ".join(parts)
    if len(text) > want:
        cut = text.rfind(" ", 0, want)
        text = text[: cut if cut > 40 else want]
    return text[0].upper() + text[1:]


def _local(ts: int) -> str:
    return (datetime.fromtimestamp(ts, UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S")


def _message(rng: random.Random, mid: int, ts: int, users: list, recent: list) -> dict[str, Any]:
    sender, sender_id = users[min(int(rng.paretovariate(1.2)) - 1, len(users) - 1)]
    base = {"id": mid, "type": "message", "date": _local(ts), "date_unixtime": str(ts)}
    roll = rng.random()
    if roll < 0.02:  # service messages: joins, invites, pins
        action = rng.choice(("join_group_by_link", "invite_members", "pin_message"))
        svc: dict[str, Any] = {
            **base,
            "type": "service",
            "actor": sender,
            "actor_id": sender_id,
            "action": action,
        }
        if action == "join_group_by_link":
            svc["inviter"] = "Group"
        elif action == "invite_members":
            svc["members"] = [rng.choice(users)[0] for _ in range(rng.randint(1, 3))]
        else:
            svc["message_id"] = rng.choice(recent) if recent else 1
        svc["text"] = ""
        svc["text_entities"] = []
        return svc
    msg: dict[str, Any] = dict(base)
    if rng.random() < 0.04:
        edit = ts + rng.randint(30, 3600)
        msg["edited"] = _local(edit)
        msg["edited_unixtime"] = str(edit)
    msg["from"] = sender
    msg["from_id"] = sender_id
    if rng.random() < 0.03:
        msg["forwarded_from"], msg["forwarded_from_id"] = rng.choice(_FORWARD_SOURCES)
    if recent and rng.random() < 0.15:
        msg["reply_to_message_id"] = rng.choice(recent)
    body = _text(rng)
    if rng.random() < 0.08:  # some formatting: a mention, a link or bold words
        kind = rng.choice(("mention", "link", "bold"))
        extra = {
            "mention": "@" + sender.split()[0].lower() + str(rng.randint(1, 99)),
            "link": "https://example.my/p/" + str(rng.randint(1000, 99999)),
            "bold": "PENTING",
        }[kind]
        head = body[: len(body) // 2]
        tail = body[len(body) // 2 :]
        pieces = [
            {"type": "plain", "text": head + " "},
            {"type": kind, "text": extra},
            {"type": "plain", "text": " " + tail},
        ]
        msg["text"] = [head + " ", {"type": kind, "text": extra}, " " + tail]
        msg["text_entities"] = pieces
    else:
        msg["text"] = body
        msg["text_entities"] = [{"type": "plain", "text": body}]
    return msg


def write_fallback_export(out_dir: Path, messages: int, seed: int = SEED) -> Path:
    """Stream a single-chat result.json with `messages` entries; returns its path."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    users = []
    for i in range(400):
        name = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}".strip()
        users.append((name, f"user{rng.randint(10**8, 7 * 10**9) + i}"))
    ts = 1622505600  # 2021-06-01T00:00:00Z
    mid = 0
    recent: list[int] = []
    path = out_dir / "result.json"
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        header: dict[str, Any] = {
            "name": "Komuniti Jual Beli Lembah Klang",
            "type": "private_supergroup",
            "id": 1573829164,
        }
        fh.write("{\n")
        for key, value in header.items():
            fh.write(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
        fh.write(' "messages": [\n')
        for n in range(messages):
            mid += 1 if rng.random() < 0.97 else rng.randint(2, 5)  # deleted ids leave gaps
            ts += rng.randint(5, 240)
            msg = _message(rng, mid, ts, users, recent)
            recent.append(mid)
            if len(recent) > 50:
                recent.pop(0)
            block = json.dumps(msg, ensure_ascii=False, indent=1).replace("\n", "\n  ")
            fh.write("  " + block + (",\n" if n + 1 < messages else "\n"))
        fh.write(" ]\n}\n")
    return path


def _load_synth() -> Any:
    try:
        from perisai.synth import synth
    except Exception:  # noqa: BLE001 - absent or half-written: use the fallback
        return None
    return synth if callable(synth) else None


def generate(out_dir: Path, messages: int, generator: str) -> tuple[Path, str]:
    """(result.json, generator used). Reuses an export this script made with the same inputs."""
    synth = _load_synth() if generator in ("auto", "synth") else None
    meta_path = out_dir / ".bench-meta.json"
    want = {
        "messages": messages,
        "seed": SEED,
        "used": "perisai.synth" if synth is not None else "fallback",
    }
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        found = Path(meta.get("result", ""))
        if {k: meta.get(k) for k in want} == want and found.is_file():
            return found, meta["used"]
    if out_dir.exists():
        shutil.rmtree(out_dir)
    if generator == "synth" and synth is None:
        raise SystemExit("--generator synth: perisai.synth.synth cannot be imported")
    result, used = None, "fallback"
    if synth is not None:
        try:
            made = synth(out_dir, messages=messages, photos=0, videos=0, seed=SEED)
            result, used = _find_result(out_dir, made), "perisai.synth"
        except Exception as exc:  # noqa: BLE001
            if generator == "synth":
                raise
            print(f"  perisai.synth failed ({type(exc).__name__}: {exc}); using the fallback")
            shutil.rmtree(out_dir, ignore_errors=True)
    if result is None:
        result = write_fallback_export(out_dir, messages)
    meta_path.write_text(json.dumps({**want, "used": used, "result": str(result)}))
    return result, used


def _find_result(out_dir: Path, made: Any) -> Path:
    named = made.get("result_json") if isinstance(made, dict) else None
    for candidate in (named, made, getattr(made, "path", None)):
        if isinstance(candidate, str | os.PathLike):
            p = Path(candidate)
            if p.is_file():
                return p
            if (p / "result.json").is_file():
                return p / "result.json"
    found = sorted(out_dir.rglob("result.json"))
    if not found:
        raise FileNotFoundError(f"perisai.synth wrote no result.json under {out_dir}")
    return found[0]


# -- contenders (run in a child process) --------------------------------------------------------


def _status_mb(field: str) -> float | None:
    """VmRSS / VmHWM from /proc/self/status (Linux), in MB; None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _process_peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _rss_mb() -> float:
    return _status_mb("VmRSS") or _process_peak_mb()


_SETUP_PEAK = 0.0


def _reset_peak() -> bool:
    """Start the high-water mark afresh (Linux >= 4.0), so one-off set-up costs do not count."""
    global _SETUP_PEAK
    _SETUP_PEAK = _status_mb("VmHWM") or _process_peak_mb()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb(reset: bool) -> float:
    """Peak RSS since _reset_peak() where that worked, else over the whole process."""
    hwm = _status_mb("VmHWM") if reset else None
    return hwm if hwm is not None else _process_peak_mb()


def run_perisai(export: Path, target: Path, profile: str | None) -> dict[str, Any]:
    from perisai.case import Case
    from perisai.ingest.telegram_export import ingest

    case = Case.open(target)  # key derivation (scrypt, 32 MiB) and migrations: not timed
    start_rss = _rss_mb()
    reset = _reset_peak()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    c0 = time.process_time()
    summary = ingest(case, export)
    cpu = time.process_time() - c0
    seconds = time.perf_counter() - t0
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    peak = _peak_mb(reset)
    case.close()
    messages = summary.get("messages_new", 0) + summary.get("messages_changed", 0)
    return {
        "messages": messages,
        "seconds": seconds,
        "cpu": cpu,
        "start_rss": start_rss,
        "peak_rss": peak,
    }


def run_baseline(export: Path, target: Path) -> dict[str, Any]:
    target.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target / "baseline.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE messages (pk INTEGER PRIMARY KEY, chat INTEGER, id INTEGER, date TEXT,"
        " sender TEXT, text TEXT, raw TEXT)"
    )
    start_rss = _rss_mb()
    reset = _reset_peak()
    t0 = time.perf_counter()
    c0 = time.process_time()
    with export.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if "messages" in data:
        chats = [data]
    else:
        chats = [c for s in ("chats", "left_chats") for c in (data.get(s) or {}).get("list", [])]

    def rows():
        for chat in chats:
            cid = chat.get("id")
            for msg in chat.get("messages", []):
                text = msg.get("text", "")
                if isinstance(text, list):
                    text = "".join(p if isinstance(p, str) else p.get("text", "") for p in text)
                yield (
                    cid,
                    msg.get("id"),
                    msg.get("date"),
                    msg.get("from_id") or msg.get("actor_id"),
                    text,
                    json.dumps(msg, ensure_ascii=False),
                )

    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO messages (chat, id, date, sender, text, raw) VALUES (?, ?, ?, ?, ?, ?)",
        rows(),
    )
    db.execute("COMMIT")
    cpu = time.process_time() - c0
    seconds = time.perf_counter() - t0
    peak = _peak_mb(reset)
    messages = sum(len(c.get("messages", [])) for c in chats)
    db.close()
    return {
        "messages": messages,
        "seconds": seconds,
        "cpu": cpu,
        "start_rss": start_rss,
        "peak_rss": peak,
    }


def child(args: argparse.Namespace) -> None:
    pinned = None
    if args.core is not None and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {args.core})
            pinned = args.core
        except OSError:
            pinned = None
    export, target = Path(args.export), Path(args.target)
    if args.child == "perisai":
        out = run_perisai(export, target, args.profile_out)
    else:
        out = run_baseline(export, target)
    # clear_refs also lowers ru_maxrss, so the set-up peak is remembered before the reset.
    out["process_peak_rss"] = max(_SETUP_PEAK, _process_peak_mb(), out["peak_rss"])
    out["core"] = pinned
    print(json.dumps(out))


# -- driver -------------------------------------------------------------------------------------


def _spawn(contender: str, export: Path, target: Path, core: int | None, profile: str | None):
    cmd = [sys.executable, str(HERE), "--child", contender, "--export", str(export)]
    cmd += ["--target", str(target)]
    if core is not None:
        cmd += ["--core", str(core)]
    if profile:
        cmd += ["--profile-out", profile]
    env = dict(os.environ)
    env.setdefault("PERISAI_PASSPHRASE", "benchmark-passphrase")
    env.setdefault("PERISAI_INVESTIGATOR", "benchmark")
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pick_core() -> int | None:
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return cores[-1] if cores else None


def _sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        mult = 1
        if part.endswith("k"):
            part, mult = part[:-1], 1000
        elif part.endswith("m"):
            part, mult = part[:-1], 1_000_000
        out.append(int(float(part) * mult))
    return out


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import ijson

        backend = f"ijson {ijson.__version__} ({ijson.backend})"
    except Exception:  # noqa: BLE001
        backend = "ijson ?"
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"SQLite {sqlite3.sqlite_version}; {backend}; perisai {_revision()}"
    )


def _revision() -> str:
    """The commit measured, and whether src/ had uncommitted changes."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "(not a git checkout)"
    return rev + (" + uncommitted src changes" if dirty else "")


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = [
        "messages",
        "contender",
        "seconds",
        "messages/s",
        "peak RSS MB",
        "RSS before MB",
        "process peak MB",
    ]
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append([_fmt_int(r["size"]), r["contender"], "error", "", "", "", ""])
            continue
        lines.append(
            [
                _fmt_int(r["messages"]),
                r["contender"],
                f"{r['seconds']:.1f}",
                _fmt_int(round(r["rate"])),
                f"{r['peak_rss']:.0f}",
                f"{r['start_rss']:.0f}",
                f"{r['process_peak_rss']:.0f}",
            ]
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    right = {0, 2, 3, 4, 5, 6}

    def fmt(line: list[str]) -> str:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |"

    print(fmt(head))
    print(
        "| "
        + " | ".join(("-" * (w - 1) + ":") if i in right else "-" * w for i, w in enumerate(widths))
        + " |"
    )
    for line in lines[1:]:
        print(fmt(line))
    for r in rows:
        if "error" in r:
            print(f"\n{r['contender']} at {r['size']:,} failed:\n{r['error']}")


def verdict(rows: list[dict[str, Any]]) -> str:
    mine = [r for r in rows if r["contender"] == "perisai" and "error" not in r]
    if not mine:
        return "perisai: no successful run, targets not checked"
    mine.sort(key=lambda r: r["size"])
    slowest = min(r["rate"] for r in mine)
    biggest = max(r["process_peak_rss"] for r in mine)  # whole process, set-up included
    rate_ok = slowest >= TARGET_RATE
    rss_ok = biggest < TARGET_RSS_MB
    parts = [
        f"speed {'MET' if rate_ok else 'NOT MET'} (slowest {slowest:,.0f} msg/s, "
        f"target >= {TARGET_RATE:,})",
        f"memory {'MET' if rss_ok else 'NOT MET'} (highest process peak {biggest:.0f} MB, "
        f"target < {TARGET_RSS_MB})",
    ]
    if len(mine) > 1:
        small, large = mine[0], mine[-1]
        ratio = large["peak_rss"] / small["peak_rss"]
        flat = ratio <= 1 + FLAT_TOLERANCE
        parts.append(
            f"memory {'FLAT' if flat else 'NOT FLAT'} ({large['size']:,}: "
            f"{large['peak_rss']:.0f} MB vs {small['size']:,}: {small['peak_rss']:.0f} MB, "
            f"x{ratio:.2f}, tolerance x{1 + FLAT_TOLERANCE:.2f})"
        )
    else:
        parts.append("flatness needs two sizes")
    base = {r["size"]: r for r in rows if r["contender"] == "baseline" and "error" not in r}
    vs = [
        f"{r['size']:,}: x{r['rate'] / base[r['size']]['rate']:.2f} speed, "
        f"x{r['peak_rss'] / base[r['size']]['peak_rss']:.2f} memory"
        for r in mine
        if r["size"] in base
    ]
    line = "perisai targets: " + "; ".join(parts)
    if vs:
        line += "\nperisai vs baseline: " + "; ".join(vs)
    return line


def profile(args: argparse.Namespace, workdir: Path) -> None:
    import pstats

    size = _sizes(args.sizes)[0]
    export, used = generate(workdir / f"export-{size}", size, args.generator)
    out = Path(args.profile).resolve()
    target = workdir / f"case-{size}-profile"
    shutil.rmtree(target, ignore_errors=True)
    r = _spawn("perisai", export, target, _pick_core(), str(out))
    shutil.rmtree(target, ignore_errors=True)
    if "error" in r:
        raise SystemExit(r["error"])
    print(
        f"profiled perisai ingest of {size:,} messages ({used}): {r['seconds']:.1f} s "
        f"under cProfile; stats in {out}"
    )
    stats = pstats.Stats(str(out))
    stats.sort_stats("cumulative").print_stats(args.profile_lines)
    stats.sort_stats("tottime").print_stats(args.profile_lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="100000,1000000", help="comma list, e.g. 100k,1M")
    p.add_argument("--quick", action="store_true", help="sizes 10k and 50k")
    p.add_argument("--workdir", help="where exports and cases go (kept); default a temp dir")
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument(
        "--generator",
        choices=("auto", "synth", "fallback"),
        default="auto",
        help="perisai.synth when importable (auto), or the built-in fallback writer",
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin runs to one core")
    p.add_argument("--profile", metavar="FILE", help="cProfile perisai at the first size only")
    p.add_argument("--profile-lines", type=int, default=30)
    p.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    p.add_argument("--export", help=argparse.SUPPRESS)
    p.add_argument("--target", help=argparse.SUPPRESS)
    p.add_argument("--core", type=int, help=argparse.SUPPRESS)
    p.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return
    if args.quick:
        args.sizes = "10000,50000"
    keep = args.workdir is not None
    workdir = Path(args.workdir) if keep else Path(tempfile.mkdtemp(prefix="perisai-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.profile:
            profile(args, workdir)
            return
        bench(args, workdir)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(args: argparse.Namespace, workdir: Path) -> None:
    sizes = _sizes(args.sizes)
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    core = None if args.no_pin else _pick_core()
    print(f"machine: {_machine()}")
    pin = f"runs pinned to core {core}" if core is not None else "runs not pinned"
    print(f"date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; {pin}")
    rows: list[dict[str, Any]] = []
    for size in sizes:
        t0 = time.perf_counter()
        export, used = generate(workdir / f"export-{size}", size, args.generator)
        mb = export.stat().st_size / 1e6
        print(
            f"export {size:,} messages: {mb:,.0f} MB by {used} "
            f"({time.perf_counter() - t0:.1f} s, not counted)"
        )
        for contender in contenders:
            target = workdir / f"case-{size}-{contender}"
            shutil.rmtree(target, ignore_errors=True)
            r = _spawn(contender, export, target, core, None)
            shutil.rmtree(target, ignore_errors=True)
            r.update(size=size, contender=contender)
            if "error" not in r:
                r["rate"] = r["messages"] / r["seconds"] if r["seconds"] else 0.0
                print(
                    f"  {contender:<9} {r['seconds']:7.1f} s  {r['rate']:>9,.0f} msg/s  "
                    f"peak {r['peak_rss']:,.0f} MB"
                )
            else:
                print(f"  {contender:<9} failed")
            rows.append(r)
    print()
    print_table(rows)
    print()
    print(verdict(rows))


if __name__ == "__main__":
    main()

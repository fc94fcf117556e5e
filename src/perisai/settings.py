"""Every setting in one declared place.

The CLI options, the environment variables and the settings table in the docs are all built
from `SETTINGS`, so they cannot drift apart (a test checks the docs).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    option: str
    help: str
    default: str | None = None

    def value(self, given: str | None = None) -> str | None:
        """The CLI value if given, else the environment, else the default."""
        if given is not None:
            return given
        return os.environ.get(self.env, self.default)


PASSPHRASE = Setting(
    "passphrase",
    "PERISAI_PASSPHRASE",
    "",
    "Case passphrase (environment only, never an option: options leak into shell history).",
)
KEY_FILE = Setting(
    "key_file",
    "PERISAI_KEY_FILE",
    "--key-file",
    "File whose first line is the case passphrase; used when PERISAI_PASSPHRASE is unset.",
)
DB = Setting(
    "db",
    "PERISAI_DB",
    "--db",
    "Database URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite inside the case.",
)
WORKERS = Setting(
    "workers",
    "PERISAI_WORKERS",
    "--workers",
    "Worker processes for triage. Default: all cores.",
)
TIMEZONE = Setting(
    "timezone",
    "PERISAI_TIMEZONE",
    "--timezone",
    "Exporter's time zone (IANA name or +08:00) for exports without date_unixtime.",
)
INVESTIGATOR = Setting(
    "investigator",
    "PERISAI_INVESTIGATOR",
    "--investigator",
    "Pseudonymous investigator id written to the custody log. Default: `investigator-` and a "
    "short hash of the login name, so the volunteer's name never reaches an exported artefact.",
)
DASK = Setting(
    "dask",
    "PERISAI_DASK",
    "--dask",
    "Dask scheduler address (tcp://host:8786): run triage on that cluster instead of local "
    "processes. Needs `pip install 'perisai[scale]'` and, unless `--dask-files send`, the case "
    "folder at the same path on every worker.",
)
DASK_FILES = Setting(
    "dask_files",
    "PERISAI_DASK_FILES",
    "--dask-files",
    "How Dask workers get the files: `shared` (they read the vault in the case folder, at the "
    "same path on every worker) or `send` (the client sends each batch's encrypted files with "
    "it; workers need no case folder). Default: shared.",
    default="shared",
)

SETTINGS: tuple[Setting, ...] = (
    PASSPHRASE,
    KEY_FILE,
    DB,
    WORKERS,
    TIMEZONE,
    INVESTIGATOR,
    DASK,
    DASK_FILES,
)


def investigator(given: str | None = None) -> str:
    value = INVESTIGATOR.value(given)
    if value:
        return value
    try:
        login = os.getlogin()
    except OSError:
        login = os.environ.get("USER", "unknown")
    # Stable per person and machine, but not her name: custody logs travel in police bundles.
    return "investigator-" + hashlib.sha256(f"perisai\0{login}".encode()).hexdigest()[:8]


def shown_path(path: Path) -> str:
    """A path as recorded in the custody log: absolute, with the home folder (which names the
    volunteer) written as `~`."""
    resolved = path.resolve()
    try:
        return "~/" + resolved.relative_to(Path.home().resolve()).as_posix()
    except (ValueError, RuntimeError):
        return str(resolved)


def settings_markdown() -> str:
    rows = ["| setting | environment | option | meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        option = f"`{s.option}`" if s.option else "(none)"
        rows.append(f"| {s.name} | `{s.env}` | {option} | {s.help} |")
    return "\n".join(rows) + "\n"

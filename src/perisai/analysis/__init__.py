"""Analyses over a triaged case: the at-risk register, offender profiles and networks.

Read-only over evidence and derived rows; the only write is a caseworker's outreach status
(`atrisk.set_status`), which is logged. See docs/analysis.md.
"""

from __future__ import annotations

from datetime import datetime


def iso_utc(when: datetime | None) -> str | None:
    """A naive UTC datetime from the store as ISO 8601 with a trailing Z (seconds)."""
    if when is None:
        return None
    return when.replace(tzinfo=None, microsecond=0).isoformat() + "Z"

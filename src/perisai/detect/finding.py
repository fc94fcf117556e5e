"""The one result type every detector returns (shape of `findings --json`, interfaces.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected item. `span` is a code-point range into the text the detector was given."""

    kind: str
    value: str
    span: tuple[int, int]
    score: float
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def clamp(score: float) -> float:
    """Scores are probabilities for caseworkers: keep them inside 0..1, two decimals."""
    return round(min(1.0, max(0.0, score)), 2)


def near(text: str, start: int, before: int) -> str:
    """The lower-cased text just before a candidate: where Malaysian chat puts its labels."""
    return text[max(0, start - before) : start].lower()

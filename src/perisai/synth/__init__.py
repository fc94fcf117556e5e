"""Synthetic Telegram Desktop exports of a fictional abusive group, with ground truth.

Used by tests, benchmarks and `perisai demo`; see docs/synth.md.
"""

from perisai.synth.eras import ERAS, TIMEZONE
from perisai.synth.export import synth

__all__ = ["ERAS", "TIMEZONE", "synth"]

"""Perisai: preserve, triage and report abusive Telegram groups as court-grade evidence."""

__version__ = "0.1.0"

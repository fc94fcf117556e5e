"""Triage stages: each reads what earlier stages stored and writes its own, tagged rows."""

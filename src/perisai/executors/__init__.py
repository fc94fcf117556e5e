"""Executors other than the local one in `perisai.pipeline` (which stays the default)."""

"""The review web UI (`perisai serve`); see docs/web.md."""

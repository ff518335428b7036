"""Signing in and out, passwords, one's own page and data; accounts managed by leaders.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

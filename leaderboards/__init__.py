"""Boards read from the score aggregates: pages, the public JSON API, personal positions.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

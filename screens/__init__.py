"""Event screens: secret links that show a campaign's live boards on a hall TV.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

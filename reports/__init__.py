"""Reports upward: a campaign's figures as XLSX and CSV, and printable A4 reports per campaign and unit.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

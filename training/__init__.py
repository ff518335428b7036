"""Training courses and completions: self-reports, leader entry, imports, coverage.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

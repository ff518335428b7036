"""Action plans: targets with a unit of measure, a value, a deadline and a source, and how each stands.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

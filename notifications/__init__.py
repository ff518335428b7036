"""What members and leaders are told: decisions on their work, digests of work waiting, campaign reminders.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

"""The live quiz at an event: a host paces the questions, the hall TV shows them, phones answer.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

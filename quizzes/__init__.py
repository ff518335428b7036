"""Resident quizzes: the question bank, QR entry, attempts, event sessions and credit rules.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

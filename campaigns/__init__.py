"""Campaigns, their activity types, field logging and the verification of contributions.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

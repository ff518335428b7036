"""Links that preview well in chat apps (Open Graph tags and a standings card) and quarter posters.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

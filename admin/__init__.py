"""The unit tree and the people in it, managed by admins and ward leaders within their scope.

Routes live in views.py and are registered by the app factory; importing this package loads
no views (docs/ARCHITECTURE.md)."""

"""The web layer the app factory wires: the home page, error pages, security headers, template
helpers and the transaction hook. Features never import it (docs/ARCHITECTURE.md)."""

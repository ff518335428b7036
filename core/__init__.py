"""Plumbing shared by the features: scope rules, the clock, HTMX rendering, languages, privacy,
CSV reading, the scheduler. It imports no feature (docs/ARCHITECTURE.md)."""

"""The export buttons: a POST with only the CSRF token, since every export is written to the audit log."""

from core.forms import Form


class ExportForm(Form):
    """One export button (the workbook, or one table as CSV)."""

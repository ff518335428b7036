"""The refusal every service raises when a rule says no."""

from collections.abc import Mapping, Sequence


class Refused(Exception):
    """A request the rules turn down; carries messages in the user's language. Nothing was changed.

    `fields` ties messages to the form field they are about (by the field's name), so that a page can
    show each beside its field and link to it from the error summary; `messages` holds every message,
    tied or not, for the callers that show them in one list."""

    def __init__(self, *messages: str, fields: Mapping[str, Sequence[str]] | None = None):
        tied = {name: list(found) for name, found in (fields or {}).items() if found}
        everything = [*messages, *(message for found in tied.values() for message in found)]
        super().__init__(*everything)
        self.messages = everything
        self.fields = tied

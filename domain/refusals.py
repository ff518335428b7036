"""The refusal every service raises when a rule says no."""


class Refused(Exception):
    """A request the rules turn down; carries messages in the user's language. Nothing was changed."""

    def __init__(self, *messages: str):
        super().__init__(*messages)
        self.messages = list(messages)

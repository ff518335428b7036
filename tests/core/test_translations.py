"""Catalogue entries that get %-formatted must survive it, in both languages.

Jinja's gettext %-formats every string in a template, with or without placeholders; Python's only
when given values. A literal "%" in an English translation used in a template ("% of target") once
made every board crash in English.
"""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _template_msgids() -> set[str]:
    found = extract_from_dir(str(ROOT / "templates"), method_map=[("**.html", "jinja2")])
    return {message for _file, _line, message, _comments, _context in found if isinstance(message, str)}


def test_formatted_entries_survive_formatting():
    in_templates = _template_msgids()
    assert len(in_templates) > 200  # the extraction really read the templates
    with (ROOT / "translations/en/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = [message for message in read_po(handle) if isinstance(message.id, str) and message.id]
    broken = []
    for message in catalogue:
        names = set(PLACEHOLDER.findall(message.id))
        if not names and message.id not in in_templates:
            continue  # Python's gettext leaves a string without values unformatted
        for text in (message.id, message.string):
            try:
                text % {name: 1 for name in names}
            except (ValueError, TypeError, KeyError) as error:
                broken.append(f"{text!r}: {error}")
        if message.string and set(PLACEHOLDER.findall(message.string)) != names:
            broken.append(f"{message.string!r}: placeholders differ from {message.id!r}")
    assert broken == []

"""The documentation stays true: every test that docs/SECURITY.md and docs/OPERATIONS.md name exists,
every promise in OPERATIONS.md's last section names its test, and every `flask` command and
environment variable OPERATIONS.md tells an operator to use is one the app knows."""

import re
import shlex
from pathlib import Path

import click
import pytest

from tests.test_deploy import EXTERNAL, settings_read_by_the_code

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)?)`(?:,\s*`::(\w+)`)*")
# Variables of programs other than ThiĐua that OPERATIONS.md may name, beyond those deploy/ names.
OTHER_PROGRAMS = EXTERNAL | {"AWS_DEFAULT_REGION", "PGPASSWORD"}
# A variable as written in prose or code: SOME_NAME, or NAME= in a command.
VARIABLE = re.compile(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b|\b([A-Z][A-Z0-9_]*)=")
PROMISES = "## 8. Promises and their tests"


def operations() -> str:
    return (DOCS / "OPERATIONS.md").read_text(encoding="utf-8")


def named_tests(text: str) -> list[tuple[str, str | None]]:
    """(file, function or None) for each `tests/….py[::name]` and each further `::name` on its line."""
    named: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        for path, first, *_ in REFERENCE.findall(line):
            named.append((path, first.removeprefix("::") or None))
            # Further `::name` items on the same line refer to the same file.
            rest = line.split(f"`{path}{first}`", 1)[1].split("`tests/", 1)[0]
            named += [(path, name) for name in re.findall(r"`::(\w+)`", rest)]
    return named


def missing(named: list[tuple[str, str | None]]) -> list[str]:
    absent = []
    for path, name in named:
        source = ROOT / path
        if not source.exists():
            absent.append(path)
        elif name and f"def {name}(" not in source.read_text(encoding="utf-8"):
            absent.append(f"{path}::{name}")
    return absent


@pytest.mark.parametrize(("page", "at_least"), [("SECURITY.md", 30), ("OPERATIONS.md", 40)])
def test_every_test_named_in_the_docs_exists(page, at_least):
    named = named_tests((DOCS / page).read_text(encoding="utf-8"))
    assert len(named) > at_least and missing(named) == []


def test_every_promise_in_the_operations_page_names_its_test_function():
    table = operations().split(PROMISES, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| promise")]
    assert len(rows) > 20
    assert [row for row in rows if not named_tests(row)] == []
    # Each test by its function (tests/path.py::test_name), so that the check above can find it.
    assert [path for path, name in named_tests(table) if name is None] == []


def code_in(text: str) -> list[str]:
    """The lines of fenced blocks and the inline code spans of the rest."""
    parts = text.split("```")
    blocks = [line for block in parts[1::2] for line in block.splitlines()]
    spans = [span for prose in parts[0::2] for span in re.findall(r"`([^`\n]+)`", prose)]
    return blocks + spans


def flask_commands(text: str) -> list[list[str]]:
    """The words after each `flask` in the page's code (`--app app` left out), up to a pipe or `&&`."""
    found = []
    for code in code_in(text):
        for rest in re.findall(r"(?:^|\s)flask\s+(.+)", code):
            words = shlex.split(rest, comments=True)
            words = words[: next((i for i, word in enumerate(words) if word in ("|", "&&", ";")), len(words))]
            if words[:2] == ["--app", "app"]:
                words = words[2:]
            found.append(words)
    return found


def resolve(app, words: list[str]) -> tuple[click.Command | None, list[str]]:
    """The app's CLI command the words name (a group's subcommand included), and the options given."""
    command: click.Command | None = app.cli
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        command = command.get_command(click.Context(command), rest.pop(0))
    return command, [word.split("=", 1)[0] for word in rest if word.startswith("--")]


def test_every_flask_command_in_the_operations_page_exists_with_its_options(app):
    commands = flask_commands(operations())
    assert {"backup", "restore", "scheduler", "verify-scores", "db"} <= {words[0] for words in commands}
    for words in commands:
        command, options = resolve(app, words)
        assert command is not None and not isinstance(command, click.Group), words
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        assert set(options) - known - {"--help"} == set(), words


def test_every_environment_variable_in_the_operations_page_is_known():
    named = {underscored or assigned for underscored, assigned in VARIABLE.findall(operations())}
    assert len(named) > 20
    assert named - settings_read_by_the_code() - OTHER_PROGRAMS == set()

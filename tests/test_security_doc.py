"""docs/SECURITY.md names the test behind each protection; every name it gives must exist."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)?)`(?:,\s*`::(\w+)`)*")


def test_every_test_named_in_the_security_page_exists():
    text = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    missing, named = [], 0
    for line in text.splitlines():
        for path, first, *_ in REFERENCE.findall(line):
            named += 1
            source = ROOT / path
            if not source.exists():
                missing.append(path)
                continue
            names = [first.removeprefix("::")] if first else []
            # Further `::name` items on the same line refer to the same file.
            names += re.findall(r"`::(\w+)`", line.split(f"`{path}{first}`", 1)[1].split("`tests/", 1)[0])
            body = source.read_text(encoding="utf-8")
            missing += [f"{path}::{name}" for name in names if f"def {name}(" not in body]
    assert named > 30 and missing == []

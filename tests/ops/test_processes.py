"""The process helpers of tests/ops: what they start ends with its test, and a port another process
takes first does not fail the start."""

import socket

from tests.ops import processes as helpers
from tests.ops.processes import Process, children, wait_until


def _descendants(pid: int) -> set[int]:
    found = set(children(pid))
    for child in set(found):
        found |= _descendants(child)
    return found


def _running(pid: int) -> bool:
    """Whether a process exists and is not a zombie waiting for its parent to read its status."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _tree(processes) -> tuple[Process, set[int]]:
    """A shell whose child starts a grandchild, as a gunicorn worker may start a program."""
    tree = processes._start("tree", ["sh", "-c", "sh -c 'sleep 300; true' & wait"], {})
    wait_until(lambda: len(_descendants(tree.popen.pid)) == 2, tree, timeout=10)
    return tree, _descendants(tree.popen.pid)


def test_kill9_leaves_nothing_the_process_started(processes):
    tree, started = _tree(processes)
    tree.kill9()
    wait_until(lambda: not any(_running(pid) for pid in started), timeout=10)


def test_stop_leaves_nothing_the_process_started(processes):
    tree, started = _tree(processes)
    tree.stop()  # sh ends on SIGTERM; the grandchild would not
    wait_until(lambda: not any(_running(pid) for pid in started), timeout=10)


def test_redis_starts_on_another_port_when_its_port_was_taken_meanwhile(processes, monkeypatch):
    fresh = helpers.free_port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        offered = iter([port])  # taken between free_port's check and the start, once
        monkeypatch.setattr(helpers, "free_port", lambda: next(offered, None) or fresh())
        assert processes.redis() != f"redis://127.0.0.1:{port}/0"


def test_gunicorn_needs_no_free_port_guessed_in_advance(processes, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(helpers, "free_port", lambda: port)  # every guess would be taken
        web = processes.web(workers=1)
        assert web.url.startswith("http://127.0.0.1:") and not web.url.endswith(f":{port}")

"""Scheduler job of quizzes: finish attempts whose time ran out (crediting what was answered) and
erase attempts' personal details after the retention period. Idempotent and safe to run late:
a finished attempt is never finished twice, an erased one never erased twice."""

from datetime import datetime

from flask import Flask

from core.scheduler import run_job, scheduler_app
from quizzes.services import erase_old_attempts, finish_late_attempts


def run_quiz_upkeep(at: datetime) -> dict[str, int]:
    """Late attempts first, so an attempt is scored and credited before its answers could go."""
    return {"finished": finish_late_attempts(at), "erased": erase_old_attempts(at)}


def run_sweep(app: Flask) -> dict[str, int]:
    """One upkeep in its own app context and one short write transaction."""
    return run_job(app, run_quiz_upkeep)


def sweep() -> None:
    """The scheduler's job, run in the app that started the scheduler."""
    run_sweep(scheduler_app())

"""Posting the training forms, shared by the training tests."""

import io

from models import Course
from tests.conftest import csrf_token


def record_for(client, username: str, course: Course, completed_on: str = "2026-11-03", **fields):
    """A leader records `username`'s completion of `course` through the form."""
    data = {"csrf_token": csrf_token(client, "/"), "username": username, "course": str(course.id)}
    return client.post("/training/record", data=data | {"completed_on": completed_on} | fields)


def import_csv(client, text: str):
    """A leader uploads a completions CSV."""
    return client.post(
        "/training/import",
        data={"csrf_token": csrf_token(client, "/"), "file": (io.BytesIO(text.encode()), "x.csv")},
        content_type="multipart/form-data",
    )

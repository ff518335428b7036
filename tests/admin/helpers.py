"""Posting the admin forms, shared by the tests of accounts and units."""

import io

from models import User
from tests.conftest import csrf_token

# The `people` fixture's member as the edit form shows it: posting these changes nothing.
MEMBER_FIELDS = {
    "username": "member",
    "display_name": "Member",
    "role": "member",
    "home_unit_code": "Q1",
    "team_code": "T1",
    "youth_union_code": "Y1",
}


def post_user(client, path: str = "/admin/users/new", **fields):
    """The account form (new or edit), the optional fields blank unless given."""
    data = {"csrf_token": csrf_token(client, "/"), "team_code": "", "youth_union_code": "", "phone": ""}
    return client.post(path, data=data | fields)


def edit_member(client, member: User, **changes):
    """The fixture member's edit form with only `changes` changed."""
    return post_user(client, f"/admin/users/{member.id}/edit", **(MEMBER_FIELDS | changes))


def post_unit(client, path: str, **fields):
    data = {"csrf_token": csrf_token(client, "/"), "adult_population": "", "member_count": ""}
    return client.post(path, data=data | fields)


def upload(client, path: str, content: str, encoding: str = "utf-8"):
    """A CSV import form."""
    return client.post(
        path,
        data={"csrf_token": csrf_token(client, "/"), "file": (io.BytesIO(content.encode(encoding)), "data.csv")},
        content_type="multipart/form-data",
    )

"""CSV imports the csv module cannot read give a line and a reason, never a 500."""

import io

import pytest
from sqlalchemy import func, select

from core.csv_import import parse_count
from models import Completion, Unit, User, db
from tests.conftest import csrf_token, login
from training.services import seed_courses

LONG_CELL = "x" * 200_000  # past the csv module's field_size_limit (131,072)


def _upload(client, path: str, text: str):
    token = csrf_token(client, path)
    return client.post(
        path,
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "data.csv")},
        content_type="multipart/form-data",
    )


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_cell_over_the_csv_limit_is_reported_on_its_line_in_every_import(client, people):
    seed_courses()
    db.session.commit()
    login(client, "admin")
    before = (_count(Unit), _count(User), _count(Completion))
    imports = {
        "/admin/units/import": f"code,name,kind,parent_code\nW9,Phường 9,ward,DN\nW9-KP1,{LONG_CELL},quarter,W9\n",
        "/admin/users/import": f"username,display_name,home_quarter\nhoa.tran,Hoa,Q1\nbinh.le,{LONG_CELL},Q1\n",
        "/training/import": f"username,course_code,completed_on\nmember,KNS-CB,2026-11-01\nmember,{LONG_CELL},x\n",
    }
    for path, text in imports.items():
        response = _upload(client, path, text)
        assert response.status_code == 422, path
        assert "<td>3</td><td>Ô quá dài (tối đa 131.072 ký tự).</td>" in response.get_data(as_text=True), path
    assert (_count(Unit), _count(User), _count(Completion)) == before


def test_a_cell_over_the_limit_in_the_header_is_reported_too(client, people):
    login(client, "admin")
    response = _upload(client, "/admin/units/import", f"code,{LONG_CELL}\nW9,x\n")
    assert response.status_code == 422
    assert "<td>1</td><td>Ô quá dài (tối đa 131.072 ký tự).</td>" in response.get_data(as_text=True)


def test_a_line_the_csv_module_cannot_parse_is_reported(client, people):
    login(client, "admin")
    before = _count(Unit)
    response = _upload(client, "/admin/units/import", "code,name,kind,parent_code\nW9,Phường\r9,ward,DN\n")
    assert response.status_code == 422
    assert "<td>2</td><td>Không đọc được dòng này" in response.get_data(as_text=True)
    assert _count(Unit) == before


def test_a_count_too_large_to_store_is_an_invalid_number(client, people):
    login(client, "admin")
    before = _count(Unit)
    huge = "9" * 30
    response = _upload(
        client, "/admin/units/import", f"code,name,kind,parent_code,adult_population\nW9,P9,ward,DN,{huge}\n"
    )
    assert response.status_code == 422
    assert f"Số không hợp lệ: {huge}." in response.get_data(as_text=True)
    assert _count(Unit) == before


@pytest.mark.parametrize("text", ["²", "1" * 13, "12a"])
def test_parse_count_refuses_what_is_not_a_plausible_count(text):
    with pytest.raises(ValueError):
        parse_count(text)


def test_parse_count_reads_thousands_separators():
    assert parse_count("28.450") == 28_450 and parse_count("1,950") == 1950 and parse_count(" ") is None

"""Evidence photos in an S3-compatible bucket: moto's server on a local port stands in for AWS S3 or MinIO.

Everything goes through HTTP: a member uploads, the member and a leader view, a leader erases; the
bucket is then read with boto3 to see what is really stored. The store failing (no server, a server
that stops) refuses the upload in the member's language and changes nothing; an erasure stands and
leaves its photos to the campaigns sweep; a photo the store cannot give is a 503 page, a photo that is
gone a 404 page.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

import core.storage
from campaigns.photos import UNUSED_GRACE
from campaigns.tasks import run_sweep
from core.storage import evidence_directory
from models import Contribution, LedgerEntry, User, db
from tests.campaigns.test_logging import jpeg, log
from tests.conftest import activity, csrf_token, login
from tests.ops.processes import free_port

PREFIX = "evidence/"
REGION = "us-east-1"


def start_moto(port: int = 0) -> ThreadedMotoServer:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def stop_moto(server: ThreadedMotoServer) -> None:
    """Stop answering and close the port, as a store that went down: connections are refused.

    ThreadedMotoServer.stop() ends the serving thread but leaves the socket listening, where a
    connection would wait for an answer instead of being refused.
    """
    server.stop()
    server._server.server_close()


def endpoint_of(server: ThreadedMotoServer) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


@dataclass
class Bucket:
    client: object
    name: str

    def keys(self) -> list[str]:
        return [item["Key"] for item in self.client.list_objects_v2(Bucket=self.name).get("Contents", [])]

    def get(self, photo: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=PREFIX + photo)["Body"].read()


@pytest.fixture(scope="module")
def moto_endpoint():
    server = start_moto()
    yield endpoint_of(server)
    stop_moto(server)


@pytest.fixture
def aws_credentials(monkeypatch):
    # Read by boto3 in the app as in production; moto accepts any.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def use_bucket(app, endpoint: str) -> Bucket:
    """Configure the app for a new bucket on this endpoint (before its first request builds the storage)."""
    name = f"thidua-{secrets.token_hex(6)}"
    app.config.update(
        EVIDENCE_S3_BUCKET=name,
        EVIDENCE_S3_PREFIX=PREFIX,
        EVIDENCE_S3_ENDPOINT_URL=endpoint,
        EVIDENCE_S3_REGION=REGION,
    )
    client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=REGION)
    client.create_bucket(Bucket=name)
    return Bucket(client, name)


@pytest.fixture
def bucket(app, moto_endpoint, aws_credentials) -> Bucket:
    return use_bucket(app, moto_endpoint)


def _upload(client, campaign) -> str:
    """A member's contribution with a photo; the stored photo's name."""
    login(client, "member")
    response = log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(size=(800, 600)))
    assert response.status_code == 302
    return db.session.scalar(select(Contribution.photo_name))


def _switch_to(client, username: str) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, username)


def _erase(client, member: User):
    page = f"/admin/users/{member.id}/edit"
    return client.post(
        f"/admin/users/{member.id}/erase", data={"confirm": member.username, "csrf_token": csrf_token(client, page)}
    )


def _count(model=Contribution) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_upload_view_and_erase_with_the_photo_in_the_bucket(client, people, make_campaign, bucket):
    campaign = make_campaign()
    name = _upload(client, campaign)
    assert bucket.keys() == [PREFIX + name]
    assert not (evidence_directory(client.application) / name).exists()  # the bucket, not the local directory

    response = client.get(f"/evidence/{name}")
    assert response.status_code == 200
    assert response.data == bucket.get(name) and response.data[:2] == b"\xff\xd8"
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get(f"/evidence/{name}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""

    _switch_to(client, "member2")  # a member of another quarter
    assert client.get(f"/evidence/{name}").status_code == 403

    _switch_to(client, "leader1")
    assert client.get(f"/evidence/{name}").data == bucket.get(name)
    assert _erase(client, people["member"]).status_code == 302
    assert bucket.keys() == []
    assert db.session.scalar(select(Contribution.photo_name)) is None
    assert client.get(f"/evidence/{name}").status_code == 404


def test_a_photo_gone_from_the_bucket_is_the_apps_404_page(client, people, make_campaign, bucket):
    name = _upload(client, make_campaign())
    bucket.client.delete_object(Bucket=bucket.name, Key=PREFIX + name)
    response = client.get(f"/evidence/{name}")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)


def test_an_unreachable_store_refuses_the_upload_and_nothing_is_written(
    app, client, people, make_campaign, aws_credentials
):
    app.config.update(
        EVIDENCE_S3_BUCKET="thidua-evidence",
        EVIDENCE_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        EVIDENCE_S3_REGION=REGION,
    )
    campaign = make_campaign(template="paperless_week")
    login(client, "member")
    # An activity approved at once: a row written without its photo would also have credited points.
    check_in = activity(campaign, "Ngày không giấy")
    response = log(client, campaign, check_in, photo=jpeg(size=(800, 600)))
    assert response.status_code == 422
    assert (
        "Chưa lưu được ảnh minh chứng vì kho ảnh không phản hồi; chưa có gì được ghi. Hãy gửi lại sau ít phút."
        in response.get_data(as_text=True)
    )
    assert _count() == 0 and _count(LedgerEntry) == 0


def test_while_the_store_is_down_viewing_is_503_and_an_erasure_leaves_the_photo_to_the_sweep(
    client, people, make_campaign, clock, aws_credentials
):
    server = start_moto(port=free_port())
    port = server.get_host_and_port()[1]
    try:
        bucket = use_bucket(client.application, endpoint_of(server))
        name = _upload(client, make_campaign())
        _switch_to(client, "leader1")
        stop_moto(server)

        response = client.get(f"/evidence/{name}")
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        assert "Kho ảnh minh chứng đang không phản hồi" in response.get_data(as_text=True)
        as_json = client.get(f"/evidence/{name}", headers={"Accept": "application/json"})
        assert as_json.status_code == 503 and as_json.get_json()["error"] == "Chưa tải được ảnh"

        member = people["member"]
        assert _erase(client, member).status_code == 302
        page = client.get(f"/admin/users/{member.id}/edit").get_data(as_text=True)
        assert "Đã xoá dữ liệu cá nhân của member" in page
        assert "Kho ảnh đang không phản hồi nên còn 1 ảnh minh chứng chưa xoá được" in page
        db.session.refresh(member)
        assert member.username == f"da-xoa-{member.id}" and not member.active
        assert db.session.scalar(select(Contribution.photo_name)) is None

        server = start_moto(port=port)  # the store is back, its objects with it
        assert bucket.keys() == [PREFIX + name]
        assert client.get(f"/evidence/{name}").status_code == 404  # no row names it: nobody sees it
        clock.moment = datetime.now(UTC) + UNUSED_GRACE
        assert run_sweep(client.application)["unused_photos"] == 1
        assert bucket.keys() == []
    finally:
        stop_moto(server)


def test_the_sweep_lists_the_bucket_page_by_page_and_keeps_what_is_named_or_not_ours(
    app, client, people, make_campaign, clock, bucket, monkeypatch
):
    monkeypatch.setattr(core.storage, "LIST_PAGE_SIZE", 2)
    named = _upload(client, make_campaign())
    orphans = {f"{index:024d}.jpg" for index in range(5)}  # three pages with the rest
    for orphan in orphans:
        bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + orphan, Body=b"")
    bucket.client.put_object(Bucket=bucket.name, Key="elsewhere/" + "x" * 24 + ".jpg", Body=b"")
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + "backup.tar", Body=b"")
    clock.moment = datetime.now(UTC) + UNUSED_GRACE
    assert run_sweep(app)["unused_photos"] == len(orphans)
    assert sorted(bucket.keys()) == sorted([PREFIX + "backup.tar", PREFIX + named, "elsewhere/" + "x" * 24 + ".jpg"])

"""Two gunicorn instances, one set of photos (issue 14, item 4).

A photo uploaded through instance A is served, the same bytes, by instance B: with the photos in an
S3-compatible bucket (moto's server, as MinIO or AWS would be), and with one directory both mount.
Each instance keeps a local directory of its own in the S3 case, so a pass cannot come from a shared
disk by accident.
"""

import secrets
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from sqlalchemy import select

from domain.days import local_date
from models import Contribution, db
from tests.campaigns.test_logging import jpeg
from tests.campaigns.test_photo_storage_s3 import endpoint_of, start_moto, stop_moto
from tests.conftest import PASSWORD, activity, csrf_from

REGION = "us-east-1"


@pytest.fixture
def live_campaign(make_campaign):
    """A campaign of W1 running now by the real clock: the servers have no test clock."""
    return make_campaign(starts=datetime.now(UTC) - timedelta(days=1))


@pytest.fixture
def bucket():
    """A bucket on a local S3-compatible server, and the environment that points an instance at it."""
    server = start_moto()
    name = f"thidua-{secrets.token_hex(6)}"
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client("s3", endpoint_url=endpoint_of(server))
    client.create_bucket(Bucket=name)
    env = {
        "EVIDENCE_S3_BUCKET": name,
        "EVIDENCE_S3_PREFIX": "photos/",
        "EVIDENCE_S3_ENDPOINT_URL": endpoint_of(server),
        "EVIDENCE_S3_REGION": REGION,
        **credentials,
    }
    yield client, name, env
    stop_moto(server)


def signed_in(url: str, username: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{url}/login", timeout=30).text
    data = {"username": username, "password": PASSWORD, "csrf_token": csrf_from(form)}
    assert session.post(f"{url}/login", data=data, allow_redirects=False, timeout=30).status_code == 302
    return session


def upload(url: str, session: requests.Session, campaign) -> str:
    """Log a tutoring session with its photo through this instance; the stored photo's name."""
    page = session.get(f"{url}/campaigns/{campaign.slug}/log", timeout=30)
    assert page.status_code == 200, page.text[-2000:]
    data = {
        "csrf_token": csrf_from(page.text),
        "idempotency_key": secrets.token_hex(16),
        "activity_type": str(activity(campaign, "Buổi hướng dẫn").id),
        "quantity": "1",
        "occurred_on": local_date(datetime.now(UTC)).isoformat(),
        "beneficiary_quarter": "Q1",
        "note": "",
    }
    files = {"photo": ("photo.jpg", jpeg(size=(800, 600)), "image/jpeg")}
    response = session.post(
        f"{url}/campaigns/{campaign.slug}/log", data=data, files=files, allow_redirects=False, timeout=30
    )
    assert response.status_code == 302, response.text[-2000:]
    db.session.commit()  # a fresh snapshot: the row was written by the other process
    name = db.session.scalar(select(Contribution.photo_name))
    assert name
    return name


def test_a_photo_uploaded_on_one_instance_is_served_by_the_other_from_the_bucket(
    processes, people, live_campaign, bucket, tmp_path
):
    client, bucket_name, env = bucket
    first = processes.web(workers=2, EVIDENCE_DIR=str(tmp_path / "a"), **env)
    second = processes.web(workers=2, EVIDENCE_DIR=str(tmp_path / "b"), **env)
    session = signed_in(first.url, "member")
    name = upload(first.url, session, live_campaign)

    stored = client.get_object(Bucket=bucket_name, Key=f"photos/{name}")["Body"].read()
    served = session.get(f"{second.url}/evidence/{name}", timeout=30)
    assert served.status_code == 200
    assert served.content == stored and served.headers["Content-Type"] == "image/jpeg"
    leader = signed_in(second.url, "leader1")
    assert leader.get(f"{second.url}/evidence/{name}", timeout=30).content == stored
    assert not any((tmp_path / "a").glob("*.jpg")) and not any((tmp_path / "b").glob("*.jpg"))


def test_a_photo_uploaded_on_one_instance_is_served_by_the_other_from_a_shared_directory(
    processes, people, live_campaign, tmp_path
):
    shared = tmp_path / "shared-volume"
    first = processes.web(workers=2, EVIDENCE_DIR=str(shared))
    second = processes.web(workers=2, EVIDENCE_DIR=str(shared))
    session = signed_in(first.url, "member")
    name = upload(first.url, session, live_campaign)

    served = session.get(f"{second.url}/evidence/{name}", timeout=30)
    assert served.status_code == 200
    assert served.content == (shared / name).read_bytes()

"""The S3 upload form as AWS documents it, which moto does not check: moto accepts Signature
Version 2 forms and ignores a POST policy's conditions. Real S3 refuses SigV2 for buckets
created since June 2020 and for KMS-encrypted objects (the template's bucket is both), and
enforces every condition of the policy. So the form's fields, its policy and its signature are
checked here against the documented SigV4 POST algorithm, with the production client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from adapters.s3 import S3BlobStore
from entrypoints.aws import s3_client
from entrypoints.settings import Settings

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
BUCKET = "blueprint-jobs-blueprints-123456789012"
KEY = "uploads/upl_01jdz5k3a1b2c3d4e5f6g7h8j9/blueprint"
REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1"]
SIGV2_FIELDS = {"AWSAccessKeyId", "signature"}


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def form_in(region: str, size: int = 70, endpoint_url: str | None = None) -> Any:
    settings = Settings(storage="aws", region=region, endpoint_url=endpoint_url, bucket=BUCKET)
    return S3BlobStore(s3_client(settings), BUCKET).presign_upload(KEY, size, 900)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sigv4_post_signature(secret: str, date: str, region: str, policy: str) -> str:
    """AWS's documented signature of a browser POST: the policy signed with the SigV4 key."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("region", REGIONS)
def test_the_form_is_signed_with_sigv4_for_the_regional_endpoint(region: str) -> None:
    form = form_in(region)
    fields = dict(form.fields)
    assert not SIGV2_FIELDS & set(fields), "a SigV2 form, which S3 refuses for this bucket"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    access_key, date, credential_region, service, terminal = fields["x-amz-credential"].split("/")
    assert (access_key, credential_region, service, terminal) == (
        ACCESS_KEY,
        region,
        "s3",
        "aws4_request",
    )
    assert fields["x-amz-date"].startswith(date)
    assert fields["x-amz-signature"] == sigv4_post_signature(SECRET, date, region, fields["policy"])
    # Virtual-hosted and regional: no redirect from the global endpoint for a new bucket.
    assert form.url == f"https://{BUCKET}.s3.{region}.amazonaws.com/"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_policy_pins_bucket_key_exact_size_and_signature_fields(region: str) -> None:
    form = form_in(region, size=70)
    policy = json.loads(base64.b64decode(form.fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 70, 70] in conditions
    assert {"bucket": BUCKET} in conditions
    assert {"key": KEY} in conditions
    for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date"):
        assert {name: form.fields[name]} in conditions
    assert policy["expiration"].endswith("Z")


def test_an_endpoint_of_ones_own_gets_path_style_addresses() -> None:
    form = form_in("eu-west-1", endpoint_url="http://localhost:4566")
    assert form.url == f"http://localhost:4566/{BUCKET}"
    assert form.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"

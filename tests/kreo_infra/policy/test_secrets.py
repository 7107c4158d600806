"""The secret scanner finds the key shapes of the seed's ``.env`` file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kreo_infra.policy.secrets import scan_for_secrets

# Built at run time so this file holds no key-shaped literal itself.
FAKE = {
    "AWS Access Key": "AKIA" + "IOSFODNN7" + "EXAMPLE",
    "Stripe Access Key": "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "SendGrid API Key": "SG."
    + "ngeVfQFYQlKU0ufo8x5d1A."
    + "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr",
    "Twilio API Key": "SK" + "1234567890abcdef" * 2,
    "Secret Keyword": "correct-" + "horse-battery",
}


@pytest.mark.parametrize("kind", sorted(FAKE))
def test_detects(tmp_path: Path, kind: str) -> None:
    key = "db_password" if kind == "Secret Keyword" else "value"
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps({"resource": {"x": {"y": {key: FAKE[kind]}}}}, indent=2))
    hits = scan_for_secrets([path])
    assert kind in {hit.kind for hit in hits}
    assert all(FAKE[kind] not in str(hit) for hit in hits)


def test_clean_file_has_no_hits(tmp_path: Path) -> None:
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps({"resource": {"aws_db_instance": {"db": {
        "manage_master_user_password": True,
        "arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    }}}}, indent=2))  # fmt: skip
    assert scan_for_secrets([path]) == []


def test_imdsv2_setting_is_not_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps({"metadata_options": {"http_tokens": "required"}}, indent=2))
    assert scan_for_secrets([path]) == []


def test_proxy_auth_method_is_not_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "cdk.tf.json"
    auth = {"auth": {"client_password_auth_type": "POSTGRES_SCRAM_SHA_256"}}
    path.write_text(json.dumps(auth, indent=2))
    assert scan_for_secrets([path]) == []


def test_service_account_token_setting_is_not_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "deployment.yaml"
    path.write_text("spec:\n  automountServiceAccountToken: false\n")
    assert scan_for_secrets([path]) == []


def test_allowlist_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps({"x": {"http_tokens": "s3cr3t-" + "value"}}, indent=2))
    assert [hit.kind for hit in scan_for_secrets([path])] == ["Secret Keyword"]

"""Image references in config: tags, digests, and the rule that requires digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from kreo_infra.config import load_environment
from kreo_infra.config.models import image_digest_problems, split_image_tag
from tests.kreo_infra.config.conftest import APEX_OWNER, override
from tests.kreo_infra.config.test_loader import error_of

DIGEST = "sha256:" + "0123456789abcdef" * 4
CLIENT = "public.ecr.aws/docker/library/postgres"


@pytest.mark.parametrize("tag", ["1.4.2", f"1.4.2@{DIGEST}", f"@{DIGEST}"])
def test_image_tag_may_name_its_digest(fixture_config: Path, tag: str) -> None:
    override(fixture_config, APEX_OWNER, {"application": {"image_tag": tag}})
    assert load_environment(fixture_config, APEX_OWNER).application.image_tag == tag


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("1.4.2@sha256:abc", "is not <tag>, <tag>@sha256:<64 hex digits>"),
        (f"1.4.2@{DIGEST.upper()}", "is not <tag>"),
        (f"1.4.2@md5:{'0' * 64}", "is not <tag>"),
        (f"latest@{DIGEST}", "moves between builds"),
        ("", "is not <tag>"),
    ],
)
def test_image_tag_problems_name_file_and_field(
    fixture_config: Path, tag: str, problem: str
) -> None:
    override(fixture_config, APEX_OWNER, {"application": {"image_tag": tag}})
    error = error_of(fixture_config)
    assert error.path == "application.image_tag"
    assert problem in error.problem
    assert f"{APEX_OWNER}.yaml" in str(error)


@pytest.mark.parametrize(
    "reference", [f"{CLIENT}:17.6", f"{CLIENT}:17.6@{DIGEST}", f"{CLIENT}@{DIGEST}"]
)
def test_database_client_image_by_tag_or_digest(fixture_config: Path, reference: str) -> None:
    override(fixture_config, APEX_OWNER, {"application": {"database_client_image": reference}})
    config = load_environment(fixture_config, APEX_OWNER)
    assert config.application.database_client_image == reference


def test_database_client_image_needs_a_tag_or_digest(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"application": {"database_client_image": CLIENT}})
    error = error_of(fixture_config)
    assert error.path == "application.database_client_image"


def test_digests_not_required_by_default(fixture_config: Path) -> None:
    config = load_environment(fixture_config, APEX_OWNER)
    assert config.application.require_image_digests is False
    assert split_image_tag(config.application.image_tag)[1] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"image_tag": "1.4.2"}, "application.image_tag"),
        ({"database_client_image": f"{CLIENT}:17.6"}, "application.database_client_image"),
    ],
)
def test_required_digests_missing(fixture_config: Path, change: dict, field: str) -> None:
    pinned = {"image_tag": f"1.4.2@{DIGEST}", "database_client_image": f"{CLIENT}@{DIGEST}"}
    application = {"require_image_digests": True, **pinned, **change}
    override(fixture_config, APEX_OWNER, {"application": application})
    error = error_of(fixture_config)
    assert error.path == field
    assert "has no digest" in error.problem


def test_required_digests_present(fixture_config: Path) -> None:
    application = {
        "require_image_digests": True,
        "image_tag": f"1.4.2@{DIGEST}",
        "database_client_image": f"{CLIENT}:17.6@{DIGEST}",
    }
    override(fixture_config, APEX_OWNER, {"application": application})
    config = load_environment(fixture_config, APEX_OWNER)
    assert image_digest_problems(config.application, config.services) == []


def test_required_digests_apply_to_service_overrides(fixture_config: Path) -> None:
    application = {
        "require_image_digests": True,
        "image_tag": f"1.4.2@{DIGEST}",
        "database_client_image": f"{CLIENT}@{DIGEST}",
    }
    override(fixture_config, APEX_OWNER, {"application": application})
    config = load_environment(fixture_config, APEX_OWNER)
    name = next(iter(config.services))
    services = {
        **config.services,
        name: config.services[name].model_copy(update={"image_tag": "1.4.3"}),
    }
    assert image_digest_problems(config.application, services) == [
        (
            f"services.{name}.image_tag",
            "'1.4.3' has no digest; application.require_image_digests wants "
            "<tag>@sha256:<64 hex digits>",
        )
    ]
    relaxed = config.application.model_copy(update={"require_image_digests": False})
    assert image_digest_problems(relaxed, services) == []


def test_split_image_tag() -> None:
    assert split_image_tag("1.4.2") == ("1.4.2", None)
    assert split_image_tag(f"1.4.2@{DIGEST}") == ("1.4.2", DIGEST)
    assert split_image_tag(f"@{DIGEST}") == (None, DIGEST)

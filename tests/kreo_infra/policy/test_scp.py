"""The SCP documents: committed files equal the rendered ones, each within the limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kreo_infra.policy.scp import (
    ALLOWED_REGIONS,
    SCP_MAX_CHARS,
    STATE_BUCKETS,
    documents,
    main,
    minified_size,
    render,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "scp"


@pytest.mark.parametrize("name", sorted(documents()))
def test_committed_file_is_rendered(name: str) -> None:
    assert (DOCS / name).read_text(encoding="utf-8") == render(documents()[name]), (
        "run: python -m kreo_infra.policy.scp --write docs/scp"
    )


def test_no_stray_files() -> None:
    assert sorted(p.name for p in DOCS.glob("*.json")) == sorted(documents())


@pytest.mark.parametrize("name", sorted(documents()))
def test_within_the_scp_size_limit(name: str) -> None:
    assert minified_size(documents()[name]) <= SCP_MAX_CHARS


def test_render_is_deterministic() -> None:
    text = render({"b": 1, "a": [1]})
    assert text == '{\n  "a": [\n    1\n  ],\n  "b": 1\n}\n'


def test_every_statement_exempts_only_break_glass() -> None:
    for document in documents().values():
        for statement in document["Statement"]:
            assert statement["Effect"] == "Deny"
            if statement["Sid"] == "NoRootUser":
                continue
            assert statement["Condition"]["ArnNotLike"] == {
                "aws:PrincipalArn": "arn:aws:iam::*:role/kreo-break-glass"
            }


def test_regions() -> None:
    (statement,) = documents()["kreo-workload-regions.json"]["Statement"]
    assert statement["Condition"]["StringNotEquals"] == {
        "aws:RequestedRegion": list(ALLOWED_REGIONS)
    }
    assert "iam:*" in statement["NotAction"]
    assert "sts:*" in statement["NotAction"]


def test_every_state_bucket_is_covered(configs: list) -> None:
    from fnmatch import fnmatch

    for config in configs:
        assert fnmatch(f"arn:aws:s3:::{config.state.bucket}", STATE_BUCKETS), config.name


def test_main_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--write", str(tmp_path)]) == 0
    for name, document in documents().items():
        assert json.loads((tmp_path / name).read_text(encoding="utf-8")) == document
    assert "of 5120 characters" in capsys.readouterr().out

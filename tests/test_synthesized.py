"""Whole-output checks on every synthesized stack: snapshots, policy, secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from kreo_infra.policy.checkov import CheckovRun, blocking, load_skips, unused
from kreo_infra.policy.secrets import scan_for_secrets
from tests.conftest import PROJECT_ROOT, Synthesis, iter_resources

SKIPS_FILE = PROJECT_ROOT / "config" / "policy" / "checkov-skips.yaml"


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_snapshot(synthesis: Synthesis, stack_name: str, json_snapshot) -> None:
    """A reviewable record of what each stack synthesizes (update: pytest --snapshot-update)."""
    assert synthesis.stack(stack_name) == json_snapshot


def test_no_absolute_paths(synthesis: Synthesis, stack_name: str) -> None:
    text = synthesis.stack_file(stack_name).read_text(encoding="utf-8")
    for path in (str(synthesis.outdir), str(PROJECT_ROOT), str(Path.home())):
        assert path not in text


def test_checkov_parsed_every_stack(checkov_run: CheckovRun, synthesis: Synthesis) -> None:
    assert checkov_run.parsing_errors == []
    assert sorted(checkov_run.stacks) == synthesis.stack_names


def test_checkov_gate(checkov_run: CheckovRun, stack_name: str) -> None:
    report = checkov_run.stacks[stack_name]
    assert report.passed, "checkov evaluated no check: the gate would be vacuous"
    failures = blocking(report.failed, load_skips(SKIPS_FILE))
    assert [str(f) for f in failures] == []


def test_every_skip_is_used_and_documented(checkov_run: CheckovRun) -> None:
    skips = load_skips(SKIPS_FILE)
    findings = [f for report in checkov_run.stacks.values() for f in report.failed]
    assert [s.check for s in unused(skips, findings)] == []
    security_doc = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert [s.check for s in skips if s.check not in security_doc] == []


def test_no_secret_literals_in_synthesized_output(synthesis: Synthesis) -> None:
    files = sorted(p for p in synthesis.outdir.rglob("*") if p.is_file())
    assert files
    assert [str(hit) for hit in scan_for_secrets(files)] == []


SECRET_ARGUMENTS = {
    "password", "passwords", "auth_token", "master_password",
    "master_user_password", "secret_string", "secret_binary",
}  # fmt: skip
"""Arguments that would put a secret into the configuration and the state."""

WRITE_ONLY_ARGUMENTS = {"password_wo", "secret_string_wo"}
"""Arguments Terraform never stores: allowed only with an ephemeral value."""


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_no_secret_arguments(synthesis: Synthesis, stack_name: str) -> None:
    """Passwords and tokens come from AWS-managed secrets or IAM, never from an argument."""
    found = {
        f"{kind}.{name}.{key}"
        for kind, name, body in iter_resources(synthesis.stack(stack_name))
        for key in _keys(body)
        if key in SECRET_ARGUMENTS
    }
    assert found == set()


def test_write_only_secrets_come_from_ephemeral_values(
    synthesis: Synthesis, stack_name: str
) -> None:
    """A write-only argument keeps a value out of state; it must also keep it out of
    the JSON, so its value is always an ephemeral (generated) one, never a literal."""
    stack = synthesis.stack(stack_name)
    declared = {
        f"ephemeral.{kind}.{name}."
        for kind, items in stack.get("ephemeral", {}).items()
        for name in items
    }
    for kind, name, body in iter_resources(stack):
        for key in WRITE_ONLY_ARGUMENTS & set(body):
            value = body[key]
            assert value.startswith("${"), f"{kind}.{name}.{key}"
            assert any(d in value for d in declared), f"{kind}.{name}.{key}"

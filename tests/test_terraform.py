"""The real Terraform on the session's synthesis: tier 1 (validate) and tier 2
(plan, apply and re-plan with mock providers, every AWS stack in deployment order
from empty state, each fed the outputs of the stacks before it). docs/testing.md.

The tiers run in the background from the moment the synthesis exists
(tests/conftest.py); these tests read their results.
"""

from __future__ import annotations

import pytest

from kreo_infra.tfcheck.compat import SIX_ONLY_ARGUMENTS
from kreo_infra.tfcheck.plan import deployment_order

pytestmark = pytest.mark.terraform

HELM_LAYERS = ("platform", "app")
"""Layers with helm/kubernetes providers: not in this machine's mirror."""

GITHUB_LAYERS = ("github",)
"""The GitHub settings (integrations/github): not in this machine's mirror either."""


def _aws_only(stack_name: str) -> bool:
    return not stack_name.endswith(tuple(f"-{n}" for n in (*HELM_LAYERS, *GITHUB_LAYERS)))


def _skip_if_unchecked(results, stack_name: str) -> None:
    """Only the helm/kubernetes stacks may go unchecked, and only for missing providers."""
    unchecked = results.prepared[stack_name].unchecked
    if unchecked and not _aws_only(stack_name):
        pytest.skip(unchecked)


def test_tier1_validate(terraform_tiers, stack_name: str) -> None:
    _, results = terraform_tiers
    _skip_if_unchecked(results, stack_name)
    result = results.validated[stack_name]
    assert result.skipped is None, result.skipped
    assert result.ok, "terraform validate:\n" + "\n".join(result.errors)


def test_tier2_apply_and_replan(terraform_tiers, stack_name: str) -> None:
    _, results = terraform_tiers
    _skip_if_unchecked(results, stack_name)
    result = results.tested[stack_name]
    # Skipped for any other reason (a stack before it failed) is a failure.
    assert result.skipped is None, result.skipped
    assert result.ok, "\n".join(
        [*result.errors, *(f"second plan not empty: {c}" for c in result.changes)]
    )
    assert result.applied > 0


def test_unchecked_stacks_are_exactly_the_helm_stacks(terraform_tiers) -> None:
    toolchain, results = terraform_tiers
    unchecked = results.unchecked()
    if toolchain.registry or all(toolchain.versions(p) for p in ("helm", "kubernetes", "github")):
        assert unchecked == {}
        return
    assert sorted(unchecked) == sorted(n for n in results.prepared if not _aws_only(n))
    for name, reason in unchecked.items():
        if name.endswith(tuple(f"-{layer}" for layer in GITHUB_LAYERS)):
            assert "github" in reason
            continue
        assert "helm" in reason
        assert "kubernetes" in reason


def test_every_chain_is_in_deployment_order(synthesis) -> None:
    """Each stack's remote-state reads name only stacks earlier in its chain (so
    tier 2 can feed them, and a first deploy in this order can succeed)."""
    from kreo_infra.tfcheck.mocks import remote_state_producers
    from kreo_infra.tfcheck.runner import state_keys

    order = deployment_order(synthesis.outdir)
    keys = state_keys(synthesis.outdir, order.all)
    for chain in order.chains:
        for position, name in enumerate(chain):
            for key in remote_state_producers(synthesis.stack(name)).values():
                assert keys[key] in chain[:position], f"{name} reads {keys[key]}"


def _has(body: dict, path: str) -> bool:
    """Whether ``path`` (``argument`` or ``block.argument``) is set in ``body``."""
    head, _, rest = path.partition(".")
    if not rest:
        return head in body
    nested = body.get(head)
    blocks = nested if isinstance(nested, list) else [nested] if isinstance(nested, dict) else []
    return any(_has(block, rest) for block in blocks)


def test_compat_transform_leaves_only_the_named_gaps(terraform_tiers) -> None:
    """What the 5.x check does not cover is exactly the per-resource regions and
    the named 6.x-only arguments; the checked copies carry neither."""
    _, results = terraform_tiers
    for name, prepared in results.prepared.items():
        if prepared.compat is None or prepared.json is None:
            continue
        for dropped in prepared.compat.dropped:
            rtype, _, argument = dropped.split(".", 2)  # type.name.argument[.nested]
            assert argument in SIX_ONLY_ARGUMENTS[rtype], f"{name}: {dropped}"
        for rtype, items in prepared.json.get("resource", {}).items():
            for rname, body in items.items():
                assert "region" not in body, f"{name}: {rtype}.{rname}"
                for argument in SIX_ONLY_ARGUMENTS.get(rtype, ()):
                    assert not _has(body, argument), f"{name}: {rtype}.{rname}.{argument}"

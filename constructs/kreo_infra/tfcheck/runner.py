"""Tier 1 (``terraform validate``) and tier 2 (``terraform test`` with mock providers).

Each stack of ``cdktf.out/stacks/`` is copied into a work directory (the
compatibility transform applied where needed, the backend removed: these tiers
keep state in memory), initialised once from the harness's CLI config, then
validated. Tier 2 walks each environment's AWS stacks in deployment order: it
applies a stack from empty state with mock providers, feeds the outputs it
published to the ``terraform_remote_state`` reads of the stacks after it, and
plans it again, which must show no change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kreo_infra.tfcheck.compat import CompatReport, needs_transform, to_provider_5
from kreo_infra.tfcheck.mocks import chain_test_file, literal_ephemerals, remote_state_producers
from kreo_infra.tfcheck.toolchain import Toolchain

STACK_FILE = "cdk.tf.json"
TEST_FILE = "tests/chain.tftest.json"


@dataclass
class Prepared:
    """One stack's work directory, or why it cannot be checked here."""

    stack: str
    workdir: Path | None
    json: dict[str, Any] | None
    compat: CompatReport | None = None
    unchecked: str | None = None
    """Why the stack is not checked on this machine (providers not available)."""
    init_error: str | None = None


@dataclass
class StepResult:
    """The outcome of one Terraform step on one stack."""

    stack: str
    ok: bool
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    """Tier 2: resources the second plan would still change (a perpetual diff)."""
    applied: int = 0
    allowed: list[str] = field(default_factory=list)
    """Second-plan updates not counted: null versus a schema default only (see
    :func:`equivalent`), listed so that a reader can judge them."""


def _run(
    toolchain: Toolchain, args: Sequence[str], cwd: Path, base_env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the located terraform binary, fixed arguments
        [str(toolchain.terraform), *args],
        cwd=cwd,
        env=toolchain.env(base_env),
        capture_output=True,
        text=True,
        check=False,
    )


def providers_of(stack: Mapping[str, Any]) -> dict[str, str]:
    """Provider local name → pinned version, from ``required_providers``."""
    required = stack.get("terraform", {}).get("required_providers", {})
    return {name: body.get("version", "") for name, body in required.items()}


def plugins_for(stack: Mapping[str, Any], toolchain: Toolchain) -> tuple[str | None, list[str]]:
    """What checking ``stack`` here takes: the 5.x AWS plugin version to transform
    it for (``None``: the pinned one is at hand), and the providers (``name
    version``) neither at hand nor replaceable, which leave it unchecked."""
    missing, aws_version = [], None
    for name, pinned in providers_of(stack).items():
        if toolchain.has(name, pinned):
            continue
        versions = toolchain.versions(name)
        if name == "aws" and versions and needs_transform(pinned, versions[0]):
            aws_version = versions[0]
            continue
        missing.append(f"{name} {pinned}")
    return aws_version, missing


def prepare(
    stack_dir: Path,
    workdir: Path,
    toolchain: Toolchain,
    base_env: Mapping[str, str],
) -> Prepared:
    """Copy, transform if needed, and ``terraform init`` one stack."""
    stack_name = stack_dir.name
    original = json.loads((stack_dir / STACK_FILE).read_text(encoding="utf-8"))
    aws_version, missing = plugins_for(original, toolchain)
    if missing:
        reason = (
            f"provider {', '.join(missing)} not in any plugin mirror and the registry "
            "is not used here (checked by the GitHub workflow, KREO_TF_REGISTRY=1)"
        )
        return Prepared(stack_name, None, None, unchecked=reason)

    document, report = original, None
    if aws_version:
        document, report = to_provider_5(original, stack_name, aws_version)
    document.get("terraform", {}).pop("backend", None)
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(stack_dir, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (workdir / STACK_FILE).write_text(json.dumps(document, indent=1), encoding="utf-8")
    init = ["init", "-input=false", "-no-color", "-backend=false"]
    result = _init(toolchain, init, workdir, base_env)
    prepared = Prepared(stack_name, workdir, document, compat=report)
    if result.returncode != 0:
        prepared.init_error = (result.stderr or result.stdout).strip()
    return prepared


def prepare_all(
    outdir: Path,
    workroot: Path,
    toolchain: Toolchain,
    base_env: Mapping[str, str],
    stacks: Iterable[str],
    *,
    jobs: int = 2,
) -> dict[str, Prepared]:
    """:func:`prepare` every stack, ``jobs`` at a time."""
    names = list(stacks)

    def one(name: str) -> Prepared:
        return prepare(outdir / "stacks" / name, workroot / name, toolchain, base_env)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def _diagnostics(lines: Iterable[dict[str, Any]]) -> list[str]:
    errors = []
    for message in lines:
        diagnostic = message.get("diagnostic") or (message if "summary" in message else None)
        if not diagnostic or diagnostic.get("severity") != "error":
            continue
        where = diagnostic.get("range") or {}
        location = f"{where.get('filename', '')}:{where.get('start', {}).get('line', '')}"
        snippet = (diagnostic.get("snippet") or {}).get("code", "").strip().splitlines()
        context = f" [{snippet[0].strip()}]" if snippet else ""
        detail = (diagnostic.get("detail") or "").strip().split("\n")[0]
        errors.append(f"{diagnostic['summary']}: {detail} ({location}){context}".strip())
    return list(dict.fromkeys(errors))


BUNDLE = "_validate"
"""The work directory of :func:`validate_bundle`, beside the stacks' own."""


def validate_bundle(
    prepared: Mapping[str, Prepared], toolchain: Toolchain, base_env: Mapping[str, str]
) -> dict[str, StepResult]:
    """Tier 1 for every stack in one ``terraform validate``: a root module that
    calls each prepared stack as a child module.

    Terraform validates each module's configuration exactly as it would the
    root's (arguments against the provider schema, references, the provider's
    own validators); one process loads the provider schema once instead of once
    per stack, a third of the CPU time. Errors are attributed to the stack whose
    file they point at; one without a file fails every stack.
    """
    import time

    checked = {n: p for n, p in prepared.items() if p.workdir and not p.init_error}
    results = {n: _not_validated(p) for n, p in prepared.items() if n not in checked}
    if not checked:
        return {n: results[n] for n in prepared}
    workroot = next(iter(checked.values())).workdir.parent  # type: ignore[union-attr]
    bundle = workroot / BUNDLE
    bundle.mkdir(exist_ok=True)
    versions = {
        name: version
        for p in checked.values()
        for name, version in providers_of(p.json or {}).items()
    }
    required = {name: {"source": name, "version": v} for name, v in sorted(versions.items())}
    modules = {name: {"source": f"../{name}"} for name in checked}
    document = {"terraform": {"required_providers": required}, "module": modules}
    (bundle / "main.tf.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    start = time.perf_counter()
    init = _init(
        toolchain, ["init", "-backend=false", "-input=false", "-no-color"], bundle, base_env
    )
    if init.returncode != 0:
        error = (init.stderr or init.stdout).strip()
        results.update({n: StepResult(n, ok=False, errors=[error]) for n in checked})
        return {n: results[n] for n in prepared}
    result = _run(toolchain, ["validate", "-json", "-no-color"], bundle, base_env)
    seconds = time.perf_counter() - start
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        report = {"valid": False, "diagnostics": [{"severity": "error", "summary": result.stderr}]}
    per_stack: dict[str, list[dict[str, Any]]] = {n: [] for n in checked}
    for diagnostic in report.get("diagnostics", []):
        filename = (diagnostic.get("range") or {}).get("filename", "")
        owner = next((n for n in checked if f"/{n}/" in f"/{filename}"), None)
        for name in [owner] if owner else checked:
            per_stack[name].append(diagnostic)
    for name in checked:
        errors = _diagnostics(per_stack[name])
        results[name] = StepResult(name, ok=not errors, seconds=seconds, errors=errors)
    return {n: results[n] for n in prepared}


def _not_validated(prepared: Prepared) -> StepResult:
    if prepared.unchecked:
        return StepResult(prepared.stack, ok=True, skipped=prepared.unchecked)
    return StepResult(prepared.stack, ok=False, errors=[prepared.init_error or "not prepared"])


def _parse_test_output(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any], dict]:
    """Diagnostics, the applied state and the second plan from ``terraform test -json -verbose``."""
    messages, state, plan = [], {}, {}
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = message.get("type")
        if kind == "test_state" and message.get("@testrun") == "apply":
            state = message["test_state"]
        elif kind == "test_plan" and message.get("@testrun") == "replan":
            plan = message["test_plan"]
        elif kind == "diagnostic":
            messages.append(message)
    return messages, state, plan


_ZERO = (None, False, 0, "", [], {})


def equivalent(before: Any, after: Any) -> bool:
    """Equal, except where the state holds a zero value (false, 0, "", empty) and
    the plan null, at any depth.

    A mock provider does not run the real provider's plan, so an argument left
    out of the configuration plans as null where the real provider would plan
    its schema default; that difference is the mock's, not ours. Only that
    direction is forgiven: a value in the configuration that the state lacks,
    or any non-zero difference, is a change.
    """
    if after is None:
        return before in _ZERO
    if isinstance(before, dict) and isinstance(after, dict):
        return all(equivalent(before.get(k), after.get(k)) for k in set(before) | set(after))
    if isinstance(before, list) and isinstance(after, list):
        pairs = zip(before, after, strict=False)
        return len(before) == len(after) and all(equivalent(b, a) for b, a in pairs)
    return before == after


def _only_schema_defaults(change: Mapping[str, Any]) -> bool:
    """An update whose every difference is null versus a zero value (see :func:`equivalent`)."""
    if change["actions"] != ["update"] or _has_unknown(change.get("after_unknown")):
        return False
    return equivalent(change.get("before"), change.get("after"))


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value is True


def _describe_change(change: Mapping[str, Any]) -> str:
    """``address: update (attr, attr)``: the attributes a change would touch."""
    body = change["change"]
    before, after = body.get("before") or {}, body.get("after") or {}
    unknown = body.get("after_unknown") or {}
    touched = sorted(
        k for k in set(before) | set(after) | set(unknown)
        if before.get(k) != after.get(k) or unknown.get(k) is True
    )  # fmt: skip
    return f"{change['address']}: {'/'.join(body['actions'])} ({', '.join(touched)})"


def mock_test(
    prepared: Prepared,
    toolchain: Toolchain,
    base_env: Mapping[str, str],
    schema: Mapping[str, Any],
    remote_outputs: Mapping[str, Mapping[str, Any]],
) -> StepResult:
    """Tier 2 for one stack: apply with mock providers, plan again, expect no change."""
    import time

    assert prepared.workdir is not None
    assert prepared.json is not None
    stack, ephemerals = literal_ephemerals(prepared.json)
    if ephemerals:
        # Tier 1 has validated the real blocks; mocks cannot serve them.
        (prepared.workdir / STACK_FILE).write_text(json.dumps(stack, indent=1), encoding="utf-8")
    document = chain_test_file(stack, schema, remote_outputs)
    path = prepared.workdir / TEST_FILE
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    start = time.perf_counter()
    result = _run(toolchain, ["test", "-json", "-verbose", "-no-color"], prepared.workdir, base_env)
    seconds = time.perf_counter() - start
    diagnostics, state, plan = _parse_test_output(result.stdout)
    errors = _diagnostics(diagnostics)
    if result.returncode != 0 and not errors:
        errors = [(result.stderr or result.stdout).strip()[-2000:] or "terraform test failed"]
    outputs = {k: v.get("value") for k, v in state.get("outputs", {}).items()}
    changes, allowed = [], []
    for change in plan.get("resource_changes", []):
        if change["change"]["actions"] in (["no-op"], ["read"]):
            continue
        target = allowed if _only_schema_defaults(change["change"]) else changes
        target.append(_describe_change(change))
    changes += [
        f"output.{name}: {'/'.join(change['actions'])}"
        for name, change in plan.get("output_changes", {}).items()
        if change["actions"] != ["no-op"]
    ]
    applied = len(state.get("root_module", {}).get("resources", []))
    return StepResult(
        prepared.stack,
        ok=result.returncode == 0 and not changes and bool(plan),
        seconds=seconds,
        errors=errors,
        outputs=outputs,
        changes=changes,
        applied=applied,
        allowed=[*allowed, *(f"{e}: ephemeral, a literal under mocks" for e in ephemerals)],
    )


def state_keys(outdir: Path, stacks: Iterable[str]) -> dict[str, str]:
    """State key → stack name, from each stack's S3 backend."""
    keys = {}
    for name in stacks:
        stack = json.loads((outdir / "stacks" / name / STACK_FILE).read_text(encoding="utf-8"))
        backend = stack.get("terraform", {}).get("backend", {})
        key = backend.get("s3", {}).get("key") or backend.get("local", {}).get("path")
        if key:
            keys[key] = name
    return keys


def mock_chain(
    order: Sequence[str],
    prepared: Mapping[str, Prepared],
    keys: Mapping[str, str],
    toolchain: Toolchain,
    base_env: Mapping[str, str],
    schema: Mapping[str, Any],
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, StepResult]:
    """Tier 2 for stacks in deployment order, each fed the outputs of those before."""
    published: dict[str, dict[str, Any]] = {}
    results: dict[str, StepResult] = {}
    for name in order:
        stack = prepared[name]
        if stack.unchecked:
            results[name] = StepResult(name, ok=True, skipped=stack.unchecked)
            continue
        if stack.init_error:
            results[name] = StepResult(name, ok=False, errors=[stack.init_error])
            continue
        assert stack.json is not None
        feeds: dict[str, dict[str, Any]] = {}
        waiting = []
        for data_name, key in remote_state_producers(stack.json).items():
            producer = keys.get(key)
            if producer in published:
                feeds[data_name] = published[producer]
            else:
                waiting.append(f"{producer or key}")
        if waiting:
            results[name] = StepResult(
                name,
                ok=False,
                skipped=f"reads the state of {', '.join(waiting)}, not applied before it",
            )
            continue
        result = mock_test(stack, toolchain, base_env, schema, feeds)
        progress(f"{name}: {'ok' if result.ok else 'FAILED'} ({result.seconds:.1f}s)")
        results[name] = result
        if result.ok:
            published[name] = result.outputs
    return results


_SCHEMA_LOCK = threading.Lock()
_INIT_LOCK = threading.Lock()


def _init(
    toolchain: Toolchain, args: Sequence[str], cwd: Path, base_env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """``terraform init``; with the registry one at a time, because Terraform's
    plugin cache is not safe for concurrent writers (offline, the mirror is only
    read and inits run in parallel)."""
    if not toolchain.registry:
        return _run(toolchain, args, cwd, base_env)
    with _INIT_LOCK:
        return _run(toolchain, args, cwd, base_env)


def provider_schema(
    toolchain: Toolchain, base_env: Mapping[str, str], cache_dir: Path, version: str
) -> dict[str, Any]:
    """The AWS provider's schema (``terraform providers schema -json``), cached per version."""
    with _SCHEMA_LOCK:
        return _provider_schema(toolchain, base_env, cache_dir, version)


def _provider_schema(
    toolchain: Toolchain, base_env: Mapping[str, str], cache_dir: Path, version: str
) -> dict[str, Any]:
    cached = cache_dir / f"schema-aws-{version}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    workdir = cache_dir / f"schema-aws-{version}"
    workdir.mkdir(parents=True, exist_ok=True)
    config = {"terraform": {"required_providers": {"aws": {"source": "aws", "version": version}}}}
    (workdir / "main.tf.json").write_text(json.dumps(config), encoding="utf-8")
    for args in (["init", "-input=false", "-no-color"], ["providers", "schema", "-json"]):
        result = (_init if args[0] == "init" else _run)(toolchain, args, workdir, base_env)
        if result.returncode != 0:
            raise RuntimeError(f"terraform {' '.join(args)}: {result.stderr.strip()}")
    schemas = json.loads(result.stdout)["provider_schemas"]
    schema = next(iter(schemas.values()))
    temporary = cached.with_suffix(".partial")
    temporary.write_text(json.dumps(schema), encoding="utf-8")
    temporary.replace(cached)
    return schema


def warm_plugin_cache(
    outdir: Path,
    stacks: Iterable[str],
    toolchain: Toolchain,
    base_env: Mapping[str, str],
    cache_dir: Path,
) -> None:
    """With the registry: one ``terraform init`` of every pinned provider, so the
    plugin cache is filled once and the parallel inits after it only link from
    it (Terraform's plugin cache is not safe for concurrent writers)."""
    if not toolchain.registry:
        return
    pinned: dict[str, str] = {}
    for name in stacks:
        document = json.loads((outdir / "stacks" / name / STACK_FILE).read_text(encoding="utf-8"))
        pinned.update(providers_of(document))
    workdir = cache_dir / "warm"
    workdir.mkdir(parents=True, exist_ok=True)
    required = {name: {"source": name, "version": v} for name, v in sorted(pinned.items())}
    config = {"terraform": {"required_providers": required}}
    (workdir / "main.tf.json").write_text(json.dumps(config), encoding="utf-8")
    result = _init(toolchain, ["init", "-input=false", "-no-color"], workdir, base_env)
    if result.returncode != 0:
        raise RuntimeError(f"terraform init of the pinned providers: {result.stderr.strip()}")


@dataclass
class TierResults:
    """Tiers 1 and 2 over a whole synth output."""

    prepared: dict[str, Prepared]
    validated: dict[str, StepResult]
    tested: dict[str, StepResult]
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        results = [*self.validated.values(), *self.tested.values()]
        return any(not r.ok for r in results)

    def unchecked(self) -> dict[str, str]:
        """Stack → why tiers 1 and 2 did not check it here."""
        return {n: p.unchecked for n, p in self.prepared.items() if p.unchecked}


def run_tiers(
    outdir: Path,
    chains: Sequence[Sequence[str]],
    toolchain: Toolchain,
    base_env: Mapping[str, str],
    cache_dir: Path,
    *,
    workroot: Path | None = None,
    mock: bool = True,
    jobs: int = 2,
    progress: Callable[[str], None] = lambda _: None,
) -> TierResults:
    """Tier 1 for every stack of ``chains``, then (``mock``) tier 2 for each chain.

    Chains run ``jobs`` at a time: the account's chain and each environment's are
    independent (each feeds its own remote-state reads).
    """
    import time

    start = time.perf_counter()
    stacks = [name for chain in chains for name in chain]
    warm_plugin_cache(outdir, stacks, toolchain, base_env, cache_dir)
    prepared = prepare_all(
        outdir, workroot or cache_dir / "work", toolchain, base_env, stacks, jobs=jobs
    )
    validated = validate_bundle(prepared, toolchain, base_env)
    tested: dict[str, StepResult] = {}
    if mock:
        aws = toolchain.versions("aws")
        pinned = {providers_of(p.json or {}).get("aws") for p in prepared.values() if p.json}
        version = next(
            (v for v in pinned if v and toolchain.has("aws", v)), aws[0] if aws else None
        )
        schema = provider_schema(toolchain, base_env, cache_dir, version) if version else {}
        keys = state_keys(outdir, stacks)

        def chain_results(chain: Sequence[str]) -> dict[str, StepResult]:
            return mock_chain(chain, prepared, keys, toolchain, base_env, schema, progress)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for results in pool.map(chain_results, chains):
                tested.update(results)
    return TierResults(prepared, validated, tested, time.perf_counter() - start)

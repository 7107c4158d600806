"""kreo_infra.lazy_providers: provider packages without their eager submodule imports.

The mechanism's promises, each with a test: the pinned packages have the shape
it expects (else: eager, one line on stderr), the FQN map it gives jsii names
the right module for every submodule, a type from a module nobody imported
still resolves when the kernel returns it, and ``KREO_EAGER_PROVIDERS=1``
turns it off. Byte-identical output is proven by ``make bench`` (both ways)
and by the snapshots, which the session synthesizes lazily.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kreo_infra import lazy_providers
from kreo_infra.lazy_providers import (
    DISABLE_VARIABLE,
    MARKER,
    PROVIDER_PACKAGES,
    LazyProviderFinder,
    UnexpectedShape,
    install,
    jsii_fqn,
    split_init,
)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package) if package not in sys.modules else None
    origin = spec.origin if spec else sys.modules[package].__file__
    return Path(str(origin)).parent


@pytest.mark.parametrize("package", PROVIDER_PACKAGES)
def test_every_pinned_provider_package_has_the_expected_shape(package: str) -> None:
    """The eager block names exactly the package's submodule directories."""
    directory = _package_dir(package)
    _, submodules = split_init((directory / "__init__.py").read_text(encoding="utf-8"))
    on_disk = {p.parent.name for p in directory.glob("*/__init__.py") if p.parent.name != "_jsii"}
    assert set(submodules) == on_disk


@pytest.mark.parametrize("package", PROVIDER_PACKAGES)
def test_the_fqn_map_names_each_submodules_own_jsii_type(package: str) -> None:
    """jsii resolves an unregistered type through the map the loader fills: the
    camelCase rule must give each submodule's real jsii name (read from the
    first ``jsii_type`` in its source), or a returned object of that type
    would fail with "Unknown type"."""
    directory = _package_dir(package)
    _, submodules = split_init((directory / "__init__.py").read_text(encoding="utf-8"))
    wrong = []
    for submodule in submodules:
        with open(directory / submodule / "__init__.py", encoding="utf-8") as source:
            head = source.read(8192)
        start = head.index('jsii_type="') + len('jsii_type="')
        fqn = head[start : head.index('"', start)]
        if fqn.split(".")[1] != jsii_fqn(submodule):
            wrong.append((submodule, fqn))
    assert not wrong


def test_jsii_fqn_camel_cases_the_python_name() -> None:
    assert jsii_fqn("s3_bucket") == "s3Bucket"
    assert jsii_fqn("validating_webhook_configuration_v1") == "validatingWebhookConfigurationV1"
    assert jsii_fqn("provider") == "provider"


def _fake_package(
    root: Path, name: str, *, tail: str | None = None, canary_mismatch: str = ""
) -> None:
    """A provider-shaped package: a ``_jsii`` with an assembly record, ``publish()``,
    the marker and two submodules that record being imported."""
    package = root / name
    (package / "_jsii").mkdir(parents=True)
    (package / "_jsii" / "__init__.py").write_text(
        "from types import SimpleNamespace\n"
        f"__jsii_assembly__ = SimpleNamespace(name='@fake/{name}')\n"
        "__all__ = ['__jsii_assembly__']\n"
    )
    for sub, fqn in (("alpha_one", "alphaOne"), ("beta", "beta")):
        (package / sub).mkdir()
        jsii_type = f"@fake/{name}.{fqn if sub != canary_mismatch else 'other'}.Thing"
        (package / sub / "__init__.py").write_text(f'# jsii_type="{jsii_type}"\nLOADED = True\n')
    block = "from . import alpha_one\nfrom . import beta\n" if tail is None else tail
    (package / "__init__.py").write_text(
        "import publication\n"
        "from ._jsii import *\n"
        "__all__ = ['alpha_one', 'beta']\n"
        "publication.publish()\n\n" + MARKER + block
    )


def _import_fake(root: Path, name: str, **shape: str) -> tuple[ModuleType, LazyProviderFinder]:
    """A fake provider package of ``shape`` (see ``_fake_package``), imported through
    a finder of its own."""
    _fake_package(root, name, **shape)
    finder = LazyProviderFinder([name])
    sys.meta_path.insert(0, finder)
    return importlib.import_module(name), finder


@pytest.fixture
def isolated_imports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A private sys.path entry, meta path and jsii FQN map; fake modules removed after."""
    from jsii import _reference_map

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(_reference_map, "_submodule_fqn_map", {})
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_a_package_of_the_expected_shape_imports_no_submodule(isolated_imports: Path) -> None:
    from jsii import _reference_map

    package, _ = _import_fake(isolated_imports, "fake_lazy")
    assert "fake_lazy.alpha_one" not in sys.modules
    assert package.__all__ == ["alpha_one", "beta"]  # the published module, as before
    assert _reference_map._submodule_fqn_map == {
        "@fake/fake_lazy.alphaOne": "fake_lazy.alpha_one",
        "@fake/fake_lazy.beta": "fake_lazy.beta",
    }
    assert package.alpha_one.LOADED  # attribute access imports on demand (PEP 562)
    assert "fake_lazy.alpha_one" in sys.modules
    from fake_lazy.beta import LOADED  # and so does a normal submodule import

    assert LOADED
    with pytest.raises(AttributeError, match="no attribute 'gamma'"):
        _ = package.gamma
    assert {"alpha_one", "beta"} <= set(dir(package))


def test_a_lazily_loaded_package_reloads(isolated_imports: Path) -> None:
    """importlib.reload (IPython's autoreload) runs publication.publish() again,
    which reads every name of __all__ from the old module: no submodule import
    may happen then, or the package is left without its __path__."""
    package, _ = _import_fake(isolated_imports, "fake_reload")
    reloaded = importlib.reload(package)
    assert hasattr(sys.modules["fake_reload"], "__path__")
    assert reloaded.beta.LOADED
    from fake_reload.alpha_one import LOADED

    assert LOADED


def test_a_submodule_whose_jsii_type_is_named_otherwise_means_eager(
    isolated_imports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The FQN map would send jsii to the wrong module: import the package whole."""
    _import_fake(isolated_imports, "fake_renamed", canary_mismatch="alpha_one")
    assert "fake_renamed.beta" in sys.modules
    assert "alpha_one's jsii type is not named as expected" in capsys.readouterr().err


def test_a_package_of_another_shape_is_imported_eagerly_and_said_once(
    isolated_imports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, finder = _import_fake(
        isolated_imports, "fake_other", tail="from . import alpha_one\nx = 1\n"
    )
    assert "fake_other.alpha_one" in sys.modules  # the package's own, eager import
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "importing fake_other eagerly" in err
    assert "line 2 after the marker" in err
    assert set(finder.fallbacks) == {"fake_other"}


def test_a_jsii_runtime_without_lazy_type_resolution_means_eager(
    isolated_imports: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lazy_providers, "_jsii_supports_lazy_types", lambda: False)
    _import_fake(isolated_imports, "fake_old_jsii")
    assert "fake_old_jsii.beta" in sys.modules
    assert "cannot import types on demand" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("publication.publish()\nfrom . import a\n", "occurs 0 times"),
        ("x = 1\n" + MARKER + "from . import a\n", "does not follow publication.publish()"),
        ("publication.publish()\n" + MARKER, "no submodule imports"),
        ("publication.publish()\n" + MARKER + "from .a import b\n", "line 1 after the marker"),
    ],
)
def test_split_init_names_what_differs(source: str, problem: str) -> None:
    with pytest.raises(UnexpectedShape, match=problem):
        split_init(source)


def test_the_variable_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        sys, "meta_path", [f for f in sys.meta_path if not isinstance(f, LazyProviderFinder)]
    )
    assert install({DISABLE_VARIABLE: "1"}) is None
    assert not any(isinstance(f, LazyProviderFinder) for f in sys.meta_path)
    finder = install({})
    assert finder is sys.meta_path[0]
    assert install({}) is finder  # installed once


def test_the_session_loaded_the_providers_lazily(synthesis) -> None:
    """The suite itself synthesizes through the lazy path (unless switched off), so
    every snapshot and property test checks its output."""
    import os

    if os.environ.get(DISABLE_VARIABLE) == "1":
        pytest.skip(f"{DISABLE_VARIABLE}=1")
    loaded = [
        m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws.") and m.count(".") == 1
    ]
    assert 20 < len(loaded) < 300  # about the hundred modules the app uses, not all 2,212
    assert "cdktf_cdktf_provider_aws.workspacesweb_portal" not in sys.modules


def test_a_type_from_a_module_nobody_imported_resolves(synthesis) -> None:
    """An object created on the JavaScript side, of a type whose Python module
    was never imported, comes back as an instance of its own class: jsii looks
    the FQN up in the map the loader filled and imports the module."""
    import os

    import jsii
    from cdktf import App, TerraformStack
    from jsii._kernel import _make_reference_for_native
    from jsii._kernel.types import CreateRequest

    if os.environ.get(DISABLE_VARIABLE) == "1":
        pytest.skip(f"{DISABLE_VARIABLE}=1")
    module = "cdktf_cdktf_provider_aws.xray_group"
    assert module not in sys.modules, "pick a resource module the app does not use"
    stack = TerraformStack(App(), "unrelated")
    kernel = jsii.kernel
    kernel.provider.create(
        CreateRequest(
            fqn="@cdktf/provider-aws.xrayGroup.XrayGroup",
            args=_make_reference_for_native(
                kernel, [stack, "group", {"groupName": "g", "filterExpression": "x"}]
            ),
            overrides=[],
            interfaces=[],
        )
    )
    child = stack.node.find_child("group")
    assert module in sys.modules
    assert type(child).__module__ == module
    assert type(child).__name__ == "XrayGroup"


def test_every_entry_point_installs_the_finder_before_it_loads_providers() -> None:
    """A script that synthesizes or imports a provider package installs the finder
    before it does; the test modules get it from tests/conftest.py, at import."""
    root = Path(__file__).resolve().parents[2]
    scripts = [root / "main.py", *root.glob("bench/*.py"), *root.glob("tests/runtime/*.py")]
    uses = ("build_app(", "import cdktf_cdktf_provider", "from cdktf_cdktf_provider")
    late = []
    checked = 0
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        positions = [text.find(use) for use in uses if use in text]
        if not positions:
            continue
        checked += 1
        installed_at = text.find("lazy_providers.install(")
        if not 0 <= installed_at < min(positions):
            late.append(str(script.relative_to(root)))
    assert checked >= 2  # main.py and the capacity model
    assert late == []
    conftest = (root / "tests" / "conftest.py").read_text(encoding="utf-8")
    assert "\nlazy_providers.install()\n" in conftest  # module level: before any test imports

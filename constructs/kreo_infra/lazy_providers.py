"""Import the cdktf provider packages without importing every resource module.

Each prebuilt provider package (``cdktf_cdktf_provider_aws`` and the others in
``PROVIDER_PACKAGES``) ends its ``__init__`` with one ``from . import <module>``
line per resource, 2,212 of them for AWS, under the comment "Loading modules
to ensure their types are registered with the jsii runtime library". Importing
one resource class therefore imports every resource module of the provider.
That costs about 10 s and several hundred MB before any of our code runs,
while this app uses fewer than a hundred of those modules.

``install()`` puts a finder at the front of ``sys.meta_path``. For those
packages only, it runs the package's own ``__init__`` source without that
trailing block. Everything before the block still runs: the ``_jsii`` import
that loads the assembly into the jsii kernel, ``__all__``, and
``publication.publish()``. Resource modules are then imported on demand:

* ``from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket`` is a normal
  submodule import;
* attribute access (``cdktf_cdktf_provider_aws.s3_bucket``) goes through a
  PEP 562 module ``__getattr__`` that imports the submodule;
* **jsii type resolution**: jsii (1.1xx and later) registers a type when its
  module is imported. When the kernel hands back an object whose type it has
  not registered, ``jsii._reference_map`` imports the module it finds for
  that FQN in ``_submodule_fqn_map``. This loader fills that map with every
  submodule it skipped (``@cdktf/provider-aws.s3Bucket`` to
  ``cdktf_cdktf_provider_aws.s3_bucket``). Newer jsii-pacmak output ships the
  same map as ``_SUBMODULE_FQN_MAP``; these frozen packages predate it. The
  camelCase rule is checked against every submodule's own ``jsii_type`` in
  tests/kreo_infra/test_lazy_providers.py.

The packages are frozen: HashiCorp archived the prebuilt bindings on
2025-12-10, and we pin their last releases. Even so, the loader checks the
shape of every package before it changes anything:

* exactly one marker comment, after ``publication.publish()``;
* only ``from . import <name>`` lines after the marker;
* one submodule directory per name;
* the first submodule's jsii type named as the FQN map expects;
* a jsii runtime that has the lazy-resolution hooks.

If any check fails, the package is imported the normal, eager way, and one
line on stderr says so. The output is the same either way; only the import
takes longer.

``KREO_EAGER_PROVIDERS=1`` turns the mechanism off for debugging
(docs/performance.md). ``make bench`` synthesizes both ways and compares the
two trees byte for byte.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

PROVIDER_PACKAGES = (
    "cdktf_cdktf_provider_aws",
    "cdktf_cdktf_provider_kubernetes",
    "cdktf_cdktf_provider_helm",
    "cdktf_cdktf_provider_github",
)
"""The packages loaded lazily: every provider binding in the Pipfile."""

DISABLE_VARIABLE = "KREO_EAGER_PROVIDERS"
"""Set to ``1`` to import the provider packages eagerly (the packages' own way)."""

MARKER = "# Loading modules to ensure their types are registered with the jsii runtime library\n"
"""The comment jsii-pacmak writes before the eager submodule imports."""

_PUBLISH = "publication.publish()\n"
_SUBMODULE_IMPORT = re.compile(r"from \. import ([a-z_][a-z0-9_]*)")
_JSII_TYPE = re.compile(r'jsii_type="([^"]+)"')


class UnexpectedShape(Exception):
    """A provider package's ``__init__`` is not the shape this loader knows."""


def split_init(source: str) -> tuple[str, list[str]]:
    """The package ``__init__`` source without its eager block, and the submodules it named.

    Raises ``UnexpectedShape`` naming what differs.
    """
    if source.count(MARKER) != 1:
        raise UnexpectedShape(f"the marker comment occurs {source.count(MARKER)} times, not once")
    head, tail = source.split(MARKER)
    if not head.rstrip("\n").endswith(_PUBLISH.rstrip("\n")):
        raise UnexpectedShape("the marker does not follow publication.publish()")
    names = []
    for number, line in enumerate(tail.splitlines(), start=1):
        if not line.strip():
            continue
        match = _SUBMODULE_IMPORT.fullmatch(line)
        if match is None:
            raise UnexpectedShape(f"line {number} after the marker is not `from . import <name>`")
        names.append(match.group(1))
    if not names:
        raise UnexpectedShape("no submodule imports after the marker")
    return head, names


def jsii_fqn(submodule: str) -> str:
    """The jsii submodule name of a Python submodule: ``s3_bucket`` becomes ``s3Bucket``.

    jsii-pacmak snake-cases the submodule names of the assembly. The inverse
    holds for every submodule of the pinned packages (a test checks each one).
    """
    first, *rest = submodule.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _jsii_supports_lazy_types() -> bool:
    from jsii import _reference_map

    return hasattr(_reference_map, "_submodule_fqn_map") and hasattr(
        _reference_map, "_try_import_type_module"
    )


class _LazyPackageLoader(importlib.abc.Loader):
    """Runs a provider package's ``__init__`` without its eager submodule imports."""

    def __init__(self, origin: str, head: str, submodules: list[str]) -> None:
        self._origin = origin
        self._head = head
        self._submodules = frozenset(submodules)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        name = module.__name__
        # The same code the package runs, under its own file name (tracebacks
        # and the jsii assembly lookup are unchanged), minus the eager block.
        exec(compile(self._head, self._origin, "exec"), module.__dict__)  # noqa: S102
        public = sys.modules[name]  # publication.publish() swapped the module
        assembly = sys.modules[f"{name}._jsii"].__jsii_assembly__
        from jsii import _reference_map

        _reference_map._submodule_fqn_map.update(
            {f"{assembly.name}.{jsii_fqn(sub)}": f"{name}.{sub}" for sub in self._submodules}
        )
        submodules = self._submodules

        def __getattr__(attribute: str) -> Any:  # PEP 562
            # Only while this module is the package: during importlib.reload,
            # publication.publish() reads every name of __all__ from the old
            # module, and importing a submodule then would bind it to the
            # half-built new one.
            if attribute in submodules and sys.modules.get(name) is public:
                return importlib.import_module(f"{name}.{attribute}")
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

        def __dir__() -> list[str]:  # PEP 562
            return sorted(set(public.__dict__) | submodules)

        public.__getattr__ = __getattr__  # type: ignore[method-assign]
        public.__dir__ = __dir__  # type: ignore[method-assign]


class LazyProviderFinder(importlib.abc.MetaPathFinder):
    """Finds the provider packages and hands them to the lazy loader."""

    def __init__(self, packages: Sequence[str] = PROVIDER_PACKAGES) -> None:
        self.packages = frozenset(packages)
        self.fallbacks: dict[str, str] = {}
        """Packages imported eagerly, with the reason."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.submodule_search_locations:
            return None  # not installed: the normal import reports it
        try:
            head, submodules = self._checked(spec)
        except UnexpectedShape as reason:
            if fullname not in self.fallbacks:  # said once per package
                print(
                    f"kreo-infra: importing {fullname} eagerly (slower): {reason}. "
                    "Is it a different version than the one in Pipfile.lock?",
                    file=sys.stderr,
                )
            self.fallbacks[fullname] = str(reason)
            return None  # the next finder imports it the normal way
        spec.loader = _LazyPackageLoader(spec.origin, head, submodules)
        return spec

    @staticmethod
    def _checked(spec: importlib.machinery.ModuleSpec) -> tuple[str, list[str]]:
        if not _jsii_supports_lazy_types():
            raise UnexpectedShape("the jsii runtime cannot import types on demand")
        origin = Path(str(spec.origin))
        head, submodules = split_init(origin.read_text(encoding="utf-8"))
        package_dir = origin.parent
        missing = [s for s in submodules if not (package_dir / s / "__init__.py").is_file()]
        if missing:
            raise UnexpectedShape(f"no submodule directory for {', '.join(missing[:3])}")
        # A canary for the FQN map: the first submodule's own jsii type names the
        # jsii submodule jsii_fqn() derives (the test checks every submodule).
        with open(package_dir / submodules[0] / "__init__.py", encoding="utf-8") as source:
            found = _JSII_TYPE.search(source.read(16384))
        if found is None or found.group(1).split(".")[1] != jsii_fqn(submodules[0]):
            raise UnexpectedShape(f"{submodules[0]}'s jsii type is not named as expected")
        return head, submodules


def install(environ: dict[str, str] | None = None) -> LazyProviderFinder | None:
    """Install the finder once (idempotent); ``None`` when ``KREO_EAGER_PROVIDERS=1``.

    Call it before the first provider import. A package that is already
    imported stays as it is.
    """
    env = os.environ if environ is None else environ
    if env.get(DISABLE_VARIABLE) == "1":
        return None
    for finder in sys.meta_path:
        if isinstance(finder, LazyProviderFinder):
            return finder
    finder = LazyProviderFinder()
    sys.meta_path.insert(0, finder)
    return finder

"""Just enough CEL to evaluate the rendered ValidatingAdmissionPolicies offline.

No cluster runs in the tests, and no CEL library is installed (cel-python would
be a new dependency), so this evaluates the policies' *rendered* expressions
with the subset of CEL they use: ``? :``, ``||``, ``&&``, ``!``, ``==``, ``!=``,
``in`` (list membership, map keys), ``has(x.f)``, field selection, indexing,
string and list literals, and ``variables.<name>``. Semantics follow the CEL
spec (https://github.com/google/cel-spec/blob/master/doc/langdef.md): a missing
field or key is an error, not null; ``||`` and ``&&`` absorb an error when the
other side decides the result; an expression that errors or is not true denies
the request (the policies' ``failurePolicy: Fail``). Anything outside the
subset fails to parse, so a policy cannot silently outgrow this evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lark import Lark, Token, Tree

GRAMMAR = r"""
?expr: or_expr "?" or_expr ":" expr -> ternary
     | or_expr
?or_expr: or_expr "||" and_expr       -> or_
        | and_expr
?and_expr: and_expr "&&" rel          -> and_
         | rel
?rel: unary REL unary                 -> relation
    | unary
?unary: "!" unary                     -> not_
      | member
?member: member "." NAME              -> select
       | member "[" expr "]"          -> index
       | primary
?primary: "has" "(" member ")"        -> has
        | NAME                        -> ident
        | STRING                      -> string
        | "[" [expr ("," expr)*] "]"  -> list_
        | "(" expr ")"
REL: "==" | "!=" | /in\b/
NAME: /(?!in\b)(?!has\b)[A-Za-z_][A-Za-z0-9_]*/
STRING: /'[^'\\]*'/
%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, start="expr", parser="lalr")


class CelError(Exception):
    """A CEL evaluation error (no such key, wrong type)."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    messages: tuple[str, ...]


def parse(expression: str) -> Tree:
    return _PARSER.parse(expression)


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise CelError(f"no such overload: {value!r} is not a bool")
    return value


class _Evaluator:
    def __init__(self, activation: Mapping[str, Any], variables: Mapping[str, str]) -> None:
        self.activation = dict(activation)
        self.variables = variables
        self.cache: dict[str, Any] = {}

    def variable(self, name: str) -> Any:
        if name not in self.variables:
            raise CelError(f"undeclared variable {name}")
        if name not in self.cache:
            self.cache[name] = self.eval(parse(self.variables[name]))
        return self.cache[name]

    def eval(self, node: Tree | Token) -> Any:
        kind = node.data
        children = node.children
        if kind == "ident":
            name = str(children[0])
            if name not in self.activation and name != "variables":
                raise CelError(f"undeclared reference {name}")
            return self.activation.get(name, _VARIABLES)
        if kind == "string":
            return str(children[0])[1:-1]
        if kind == "list_":
            return [self.eval(c) for c in children if c is not None]
        if kind == "select":
            target = self.eval(children[0])
            field = str(children[1])
            if target is _VARIABLES:
                return self.variable(field)
            if not isinstance(target, Mapping) or field not in target:
                raise CelError(f"no such key: {field}")
            return target[field]
        if kind == "index":
            target, key = self.eval(children[0]), self.eval(children[1])
            if not isinstance(target, Mapping) or key not in target:
                raise CelError(f"no such key: {key}")
            return target[key]
        if kind == "has":
            selection = children[0]
            if selection.data != "select":
                raise CelError("has() needs a field selection")
            target = self.eval(selection.children[0])
            return isinstance(target, Mapping) and str(selection.children[1]) in target
        if kind == "not_":
            return not _truth(self.eval(children[0]))
        if kind == "relation":
            left, op, right = self.eval(children[0]), str(children[1]), self.eval(children[2])
            if op == "in":
                if not isinstance(right, (list, Mapping)):
                    raise CelError("no such overload: in")
                return left in right
            if type(left) is not type(right):
                raise CelError(f"no such overload: {left!r} {op} {right!r}")
            return (left == right) if op == "==" else (left != right)
        if kind in ("or_", "and_"):
            decisive = kind == "or_"
            error: CelError | None = None
            for child in children:
                try:
                    if _truth(self.eval(child)) is decisive:
                        return decisive
                except CelError as caught:
                    error = caught
            if error:
                raise error
            return not decisive
        if kind == "ternary":
            condition = _truth(self.eval(children[0]))
            return self.eval(children[1] if condition else children[2])
        raise CelError(f"unsupported node {kind}")


_VARIABLES = object()


RESOURCES = {
    ("networking.k8s.io", "Ingress"): "ingresses",
    ("networking.k8s.io", "IngressClass"): "ingressclasses",
    ("", "Service"): "services",
}


def matches(policy: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    """Whether ``policy``'s matchConstraints select ``document`` on CREATE."""
    group, _, version = document["apiVersion"].rpartition("/")
    resource = RESOURCES.get((group, document["kind"]))
    for rule in policy["spec"]["matchConstraints"]["resourceRules"]:
        if (
            group in rule["apiGroups"]
            and version in rule["apiVersions"]
            and "CREATE" in rule["operations"]
            and resource in rule["resources"]
        ):
            return True
    return False


def admit(policy: Mapping[str, Any], document: Mapping[str, Any]) -> Verdict:
    """What the API server would answer when ``document`` is created under ``policy``."""
    if not matches(policy, document):
        return Verdict(True, ())
    spec = policy["spec"]
    variables = {v["name"]: v["expression"] for v in spec.get("variables", [])}
    evaluator = _Evaluator({"object": document}, variables)
    messages = []
    for validation in spec["validations"]:
        try:
            passed = _truth(evaluator.eval(parse(validation["expression"])))
        except CelError as error:
            assert spec["failurePolicy"] == "Fail"
            passed, validation = False, {"message": f"error: {error}"}
        if not passed:
            messages.append(validation["message"])
    return Verdict(not messages, tuple(messages))

"""The HTTP routes of the API functions, read from their handlers' resolver decorators.

Each route is declared once, in ``functions/<name>/handler.py`` (``@app.get("/v1/...")``). The
stack reads those declarations from the source (``ast``) instead of importing the handlers: infra
never imports the rules, and synthesis needs no settings. Two forms are read:

- ``@app.<method>("<literal path>", ...)`` on a function, and
- ``app.<method>(f"...{x.value}...", ...)`` (or ``{x.value[0]}``, one letter of it) inside a
  module-level ``for x in <Enum>:`` whose ``<Enum>`` is a string enum imported
  ``from asusual... import <Enum>`` (intake: two routes per Segment call type, declared by
  ``asusual.intake.models.EventType``); its members are read from
  that module's source the same way.

A route a page calls says ``cors=True``, in the call or in a module-level dict literal the call
unpacks (``**_INTAKE``); API Gateway gets an ``OPTIONS`` route for its preflight, answered by the
same function.

Any other call of a route method on ``app`` is refused with its file and line, so a route cannot
be written in a form the stack would miss. ``tests/infra`` compares these routes with the
resolvers' own and with the synthesized API Gateway routes, as exact sets.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
SHARED = ROOT / "shared"
METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "route"})
RESOLVER = "app"  # the handlers' module-level resolver (asusual.api.make_resolver())


def gateway_path(rule: str) -> str:
    """A powertools rule (``/v1/profiles/<value>``) as API Gateway writes it (``/v1/profiles/{value}``).
    The one place the two path-parameter syntaxes meet."""
    return re.sub(r"<(\w+)>", r"{\1}", rule)


@dataclass(frozen=True, order=True)
class Route:
    method: str  # upper case, as API Gateway and powertools keep it
    rule: str  # powertools syntax, as declared in the handler

    @property
    def path(self) -> str:
        return gateway_path(self.rule)

    @property
    def key(self) -> str:
        """The API Gateway route key, ``POST /v1/batch``."""
        return f"{self.method} {self.path}"


class UnreadableRoute(ValueError):
    """A handler declares a route in a form this reader does not understand."""


def api_functions() -> tuple[str, ...]:
    """The functions whose handler declares at least one route, by name."""
    names = sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py"))
    return tuple(name for name in names if handler_routes(name))


@cache
def handler_routes(name: str) -> tuple[Route, ...]:
    """The routes ``functions/<name>/handler.py`` declares, in the order it declares them (the first
    names the function's API Gateway integration)."""
    return read_routes(FUNCTIONS / name / "handler.py")


def read_routes(source: Path) -> tuple[Route, ...]:
    """The routes a handler module declares, in order, each followed by its OPTIONS route when a
    page calls it (``cors=True``); UnreadableRoute for a form it cannot read."""
    module = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found: list[Route] = []
    read: set[int] = set()  # the route calls understood, by id

    def add(call: ast.Call, rule: str) -> None:
        found.append(Route(_method(call), rule))
        if _cors(module, call, source) and (preflight := Route("OPTIONS", rule)) not in found:
            found.append(preflight)

    for statement in module.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in statement.decorator_list:
                if (call := _route_call(decorator)) is not None:
                    add(call, _literal_path(call, source))
                    read.add(id(call))
        elif isinstance(statement, ast.For) and isinstance(statement.target, ast.Name):
            loop = [node for node in ast.walk(statement) if (call := _route_call(node)) is not None]
            if not loop:
                continue
            values = _enum_values(module, statement.iter, source)
            for node in loop:
                call = _route_call(node)
                assert call is not None
                for value in values:
                    add(call, _fill(call, statement.target.id, value, source))
                read.add(id(call))
    for node in ast.walk(module):
        if (call := _route_call(node)) is not None and id(call) not in read:
            raise UnreadableRoute(
                f"{source}:{call.lineno}: declare a route as @{RESOLVER}.<method>('<literal path>') "
                "(infra/routes.py reads it without importing the handler)"
            )
    return tuple(found)


def _route_call(node: ast.AST) -> ast.Call | None:
    """``app.<method>(...)`` itself, or None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == RESOLVER
        and node.func.attr in METHODS
    ):
        return node
    return None


def _method(call: ast.Call) -> str:
    assert isinstance(call.func, ast.Attribute)
    if call.func.attr == "route":
        raise UnreadableRoute(f"line {call.lineno}: use @{RESOLVER}.<method>(...) rather than route()")
    return call.func.attr.upper()


def _cors(module: ast.Module, call: ast.Call, source: Path) -> bool:
    """Whether the route says ``cors=True``: as a keyword, or as the key ``"cors"`` of a module-level
    dict literal it unpacks. Anything else that could set it is refused."""
    for keyword in call.keywords:
        if keyword.arg == "cors":
            return _literal_bool(keyword.value, source)
        if keyword.arg is None:  # **name
            spread = _module_dict(module, keyword.value, source)
            for key, value in zip(spread.keys, spread.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "cors":
                    return _literal_bool(value, source)
    return False


def _literal_bool(node: ast.expr, source: Path) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    raise UnreadableRoute(f"{source}:{node.lineno}: a route's cors must be True or False, written out")


def _module_dict(module: ast.Module, node: ast.expr, source: Path) -> ast.Dict:
    """The dict literal a module-level name is assigned (the route options a handler shares)."""
    if isinstance(node, ast.Name):
        for statement in module.body:
            targets = (
                [statement.target] if isinstance(statement, ast.AnnAssign)
                else statement.targets if isinstance(statement, ast.Assign) else []
            )  # fmt: skip
            value = statement.value if isinstance(statement, ast.AnnAssign | ast.Assign) else None
            if isinstance(value, ast.Dict) and any(
                isinstance(t, ast.Name) and t.id == node.id for t in targets
            ):
                if not all(isinstance(key, ast.Constant) for key in value.keys):
                    break  # a computed key, or another dict unpacked: not read
                return value
    raise UnreadableRoute(
        f"{source}:{node.lineno}: a route unpacks only a module-level dict literal of constant keys"
    )


def _literal_path(call: ast.Call, source: Path) -> str:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    raise UnreadableRoute(f"{source}:{call.lineno}: a route's path must be a string literal")


def _fill(call: ast.Call, variable: str, value: str, source: Path) -> str:
    """The f-string path of a route in a loop, with the loop variable (``x`` or ``x.value``) set."""
    path = call.args[0] if call.args else None
    if not isinstance(path, ast.JoinedStr):
        raise UnreadableRoute(f"{source}:{call.lineno}: a route in a loop needs an f-string path")
    parts = []
    for part in path.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            parts.append(part.value)
        elif isinstance(part, ast.FormattedValue) and _is_loop_value(part.value, variable):
            parts.append(value)
        elif (
            isinstance(part, ast.FormattedValue)
            and isinstance(part.value, ast.Subscript)
            and _is_loop_value(part.value.value, variable)
            and isinstance(part.value.slice, ast.Constant)
            and isinstance(part.value.slice.value, int)
        ):
            parts.append(value[part.value.slice.value])  # {x.value[0]}: the member's first letter
        else:
            raise UnreadableRoute(
                f"{source}:{call.lineno}: only {{{variable}.value}} or {{{variable}.value[<n>]}} "
                "may fill a path"
            )
    return "".join(parts)


def _is_loop_value(node: ast.expr, variable: str) -> bool:
    if isinstance(node, ast.Name):
        return node.id == variable
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "value"
        and isinstance(node.value, ast.Name)
        and node.value.id == variable
    )


def _enum_values(module: ast.Module, iterable: ast.expr, source: Path) -> tuple[str, ...]:
    """The string members of the enum a route loop iterates, read from its module's source."""
    if not isinstance(iterable, ast.Name):
        raise UnreadableRoute(f"{source}:{iterable.lineno}: a route loop iterates an imported enum by name")
    for statement in module.body:
        if (
            isinstance(statement, ast.ImportFrom)
            and (dotted := statement.module or "").startswith("asusual.")
            and any((alias.asname or alias.name) == iterable.id for alias in statement.names)
        ):
            origin = SHARED.joinpath(*dotted.split(".")).with_suffix(".py")
            return _string_enum(origin, iterable.id)
    raise UnreadableRoute(f"{source}:{iterable.lineno}: {iterable.id} is not imported from asusual")


@cache
def _string_enum(origin: Path, name: str) -> tuple[str, ...]:
    module = ast.parse(origin.read_text(encoding="utf-8"), filename=str(origin))
    for statement in module.body:
        if isinstance(statement, ast.ClassDef) and statement.name == name:
            values = tuple(
                member.value.value
                for member in statement.body
                if isinstance(member, ast.Assign)
                and isinstance(member.value, ast.Constant)
                and isinstance(member.value.value, str)
            )
            if values:
                return values
    raise UnreadableRoute(f"{origin}: no string enum {name}")

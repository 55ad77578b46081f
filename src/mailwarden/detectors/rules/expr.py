"""The rule condition language: a safe subset of Python expression syntax, compiled to closures.

    # the display name is one of our VIPs, but not their address
    sender.vip_impersonation
    # and it comes from a free-mail provider
    and (sender.freemail or sender.lookalike_tenant != "")

The text is parsed with `ast` and every node is checked against a short whitelist; the result is a
tree of Python closures over a signal lookup, so nothing is ever `eval`ed and a rule can read
nothing but signals. Dotted names (`sender.freemail`) are signal names; `true`/`false` are accepted
beside `True`/`False` for people who write YAML all day.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Lookup = Mapping[str, Any]
Evaluator = Callable[[Lookup], Any]


class ExpressionError(ValueError):
    """A condition that cannot be compiled; the message names the offending piece."""


@dataclass(frozen=True)
class CompiledExpression:
    source: str
    evaluate: Evaluator
    signals: frozenset[str]  # every signal name the expression reads

    def __call__(self, values: Lookup) -> bool:
        return bool(self.evaluate(values))


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
_CONSTANT_NAMES = {"true": True, "false": False, "True": True, "False": False, "none": None}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _contains(text: Any, needle: str) -> bool:
    return needle.lower() in _text(text).lower()


def _startswith(text: Any, prefix: str) -> bool:
    return _text(text).lower().startswith(prefix.lower())


def _endswith(text: Any, suffix: str) -> bool:
    return _text(text).lower().endswith(suffix.lower())


def _any_in(values: Any, candidates: Any) -> bool:
    return not set(values).isdisjoint(candidates)


def _length(value: Any) -> int:
    return len(value) if value is not None else 0


# name -> (function, number of arguments, index of an argument that must be a literal regex)
_FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "contains": (_contains, 2),
    "startswith": (_startswith, 2),
    "endswith": (_endswith, 2),
    "any_in": (_any_in, 2),
    "len": (_length, 1),
}


def compile_expression(
    source: str, known_signals: Mapping[str, Any] | None = None
) -> CompiledExpression:
    """Compile `source`; with `known_signals`, unknown signal names are errors."""
    text = source.strip()
    if not text:
        raise ExpressionError("empty condition")
    try:
        # Wrapped in parentheses so a condition may span lines without backslashes.
        tree = ast.parse(f"(\n{text}\n)", mode="eval")
    except SyntaxError as exc:
        line = (exc.lineno or 2) - 1
        raise ExpressionError(f"syntax error on line {line}: {exc.msg}") from exc
    compiler = _Compiler(known_signals)
    evaluate = compiler.compile(tree.body)
    return CompiledExpression(text, evaluate, frozenset(compiler.signals))


class _Compiler:
    def __init__(self, known: Mapping[str, Any] | None) -> None:
        self.known = known
        self.signals: set[str] = set()

    def compile(self, node: ast.expr) -> Evaluator:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(f"not allowed in a condition: {ast.unparse(node)!r}")
        result: Evaluator = method(node)
        return result

    # --- names and literals -------------------------------------------------------------
    def _signal(self, node: ast.expr) -> Evaluator:
        name = _dotted_name(node)
        if self.known is not None and name not in self.known:
            raise ExpressionError(f"unknown signal {name!r}")
        self.signals.add(name)
        return lambda values: values[name]

    def _Attribute(self, node: ast.Attribute) -> Evaluator:
        return self._signal(node)

    def _Name(self, node: ast.Name) -> Evaluator:
        if node.id in _CONSTANT_NAMES:
            constant = _CONSTANT_NAMES[node.id]
            return lambda values: constant
        return self._signal(node)

    def _Constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise ExpressionError(f"unsupported literal {value!r}")
        return lambda values: value

    def _List(self, node: ast.List | ast.Tuple) -> Evaluator:
        items = [_literal(item) for item in node.elts]
        # A literal list is a set for membership tests: O(1) and order does not matter.
        frozen = frozenset(items)
        return lambda values: frozen

    _Tuple = _List

    # --- logic and comparison -----------------------------------------------------------
    def _BoolOp(self, node: ast.BoolOp) -> Evaluator:
        parts = [self.compile(value) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda values: all(part(values) for part in parts)
        return lambda values: any(part(values) for part in parts)

    def _UnaryOp(self, node: ast.UnaryOp) -> Evaluator:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda values: not operand(values)
        if isinstance(node.op, ast.USub):
            return lambda values: -operand(values)
        raise ExpressionError(f"operator not allowed: {ast.unparse(node)!r}")

    def _BinOp(self, node: ast.BinOp) -> Evaluator:
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator not allowed: {ast.unparse(node)!r}")
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda values: op(left(values), right(values))

    def _Compare(self, node: ast.Compare) -> Evaluator:
        operands = [self.compile(node.left)] + [self.compile(c) for c in node.comparators]
        ops = [_COMPARE[type(op)] for op in node.ops]
        if len(ops) == 1:
            op, left, right = ops[0], operands[0], operands[1]

            def compare_one(values: Lookup) -> bool:
                try:
                    return op(left(values), right(values))
                except TypeError:  # comparing a str with a number: the clause is just false
                    return False

            return compare_one

        def compare_chain(values: Lookup) -> bool:
            current = operands[0](values)
            for op, operand in zip(ops, operands[1:], strict=True):
                following = operand(values)
                try:
                    if not op(current, following):
                        return False
                except TypeError:
                    return False
                current = following
            return True

        return compare_chain

    # --- functions ----------------------------------------------------------------------
    def _Call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise ExpressionError(f"not a known function call: {ast.unparse(node)!r}")
        name = node.func.id
        if name == "matches":
            return self._matches(node)
        if name not in _FUNCTIONS:
            known = ", ".join(sorted([*_FUNCTIONS, "matches"]))
            raise ExpressionError(f"unknown function {name!r} (known: {known})")
        function, arity = _FUNCTIONS[name]
        if len(node.args) != arity:
            raise ExpressionError(f"{name}() takes {arity} argument(s)")
        args = [self.compile(arg) for arg in node.args]
        if arity == 1:
            (only,) = args
            return lambda values: function(only(values))
        first, second = args
        return lambda values: function(first(values), second(values))

    def _matches(self, node: ast.Call) -> Evaluator:
        if len(node.args) != 2:
            raise ExpressionError("matches() takes 2 arguments: text and a regex literal")
        pattern_source = _literal(node.args[1])
        if not isinstance(pattern_source, str):
            raise ExpressionError("matches(): the pattern must be a string literal")
        try:
            pattern = re.compile(pattern_source, re.IGNORECASE)
        except re.error as exc:
            raise ExpressionError(f"matches(): bad regex {pattern_source!r}: {exc}") from exc
        text = self.compile(node.args[0])
        return lambda values: pattern.search(_text(text(values))) is not None


def _dotted_name(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise ExpressionError(f"not a signal name: {ast.unparse(node)!r}")
    parts.append(node.id)
    return ".".join(reversed(parts))


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANT_NAMES:
        return _CONSTANT_NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        if isinstance(inner, int | float):
            return -inner
    raise ExpressionError(f"expected a literal, got {ast.unparse(node)!r}")

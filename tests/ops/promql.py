"""The series under an alert condition: an alert expression with its comparisons and set operators taken off.

An alert rule's expression is a condition (``series > threshold``, ``a == 2 or b == 1``, ``(x > 900) and
on (job) (y > 0)``); it returns nothing while the alert does not fire, so evaluating it proves little.
:func:`underlying` splits it at its operators of lowest precedence, outside parentheses, brackets, braces
and strings, in PromQL's order (``or``; then ``and``/``unless``; then comparisons), drops the matching
modifiers (``on (...)``, ``ignoring (...)``, ``group_left/right (...)``, ``bool``) and number literals, and
returns the operands: the series the condition compares, each of which must return data.
"""

from __future__ import annotations

import re

_OPEN, _CLOSE = "([{", ")]}"
_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_MODIFIER = re.compile(r"^\s*(?:bool\b\s*)?(?:(?:on|ignoring|group_left|group_right)\s*(?:\([^)]*\))?\s*)*")
_NUMBER = re.compile(r"^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?\s*$", re.IGNORECASE)


def _top_level(expr: str) -> list[tuple[int, str]]:
    """(position, character) of every character outside brackets and strings."""
    out, depth, quote = [], 0, ""
    for i, ch in enumerate(expr):
        if quote:
            if ch == quote and expr[i - 1] != "\\":
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0:
            out.append((i, ch))
    return out


def _strip_parens(expr: str) -> str:
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, ch in enumerate(expr):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr  # the first parenthesis closes before the end: (a) + (b)
        expr = expr[1:-1].strip()
    return expr


def _split_words(expr: str, words: tuple[str, ...]) -> list[str]:
    outside = {i for i, _ in _top_level(expr)}
    pattern = re.compile(r"(?<![A-Za-z0-9_:])(" + "|".join(words) + r")(?![A-Za-z0-9_:])")
    parts, start = [], 0
    for match in pattern.finditer(expr):
        if all(i in outside for i in range(match.start(), match.end())):
            parts.append(expr[start : match.start()])
            start = match.end()
    parts.append(expr[start:])
    return parts


def _split_comparison(expr: str) -> tuple[str, str] | None:
    chars = _top_level(expr)
    outside = dict(chars)
    for i, ch in chars:
        if ch not in "=!<>":
            continue
        two = ch + outside.get(i + 1, "")
        if two in _COMPARISONS:
            return expr[:i], expr[i + 2 :]
        if ch in "<>":
            return expr[:i], expr[i + 1 :]
    return None


def underlying(expr: str) -> list[str]:
    """The operands under ``expr``'s comparisons and set operators (``expr`` itself when it has none)."""
    expr = _strip_parens(_MODIFIER.sub("", expr, count=1))
    for words in (("or",), ("and", "unless")):
        parts = _split_words(expr, words)
        if len(parts) > 1:
            return [operand for part in parts for operand in underlying(part)]
    compared = _split_comparison(expr)
    if compared is None:
        return [] if _NUMBER.match(expr) else [expr]
    left, right = compared
    return underlying(left) + underlying(right)

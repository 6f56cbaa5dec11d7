"""A tiny evaluator of the API Gateway mapping-template subset the HTTPS producer uses, faithful to what it covers.

Covered, with API Gateway's semantics:

- text, ``$ref`` and quiet ``$!ref`` references (a null reference renders as its own source text, or as nothing
  when quiet, as in Velocity);
- ``$input.json('<path>')`` (the JSON text of the selected value), ``$input.path('<path>')`` (the value itself),
  with JSONPath limited to ``$``, ``.name`` and ``[index]``;
- ``$util.escapeJavaScript(s)``: a port of Apache Commons Lang 2 ``StringEscapeUtils.escapeJavaScript``, which
  API Gateway documents as the implementation: it works on UTF-16 code units and escapes ``'`` as ``\\'``;
- Java ``String.replaceAll(regex, replacement)`` and ``String.contains(s)``;
- string literals: single-quoted are raw; double-quoted interpolate references (Velocity 1.7 does not process
  backslash escapes in them, only ``\\uXXXX``, which the templates must not use);
- ``#set($name = expr)``, ``#set($context.responseOverride.status = n)``, ``#if`` / ``#elseif`` / ``#else`` /
  ``#end`` with conditions ``a > n``, ``a == b``, ``a || b`` and a bare reference (truthiness).

Anything else raises ``VtlError``, so a template cannot pass a test by using what this does not model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


class VtlError(ValueError):
    """The template uses something this evaluator does not model, or is malformed."""


@dataclass
class Result:
    """What API Gateway would send: the rendered body and the ``$context.responseOverride`` values set."""

    body: str
    overrides: dict[str, Any] = field(default_factory=dict)


def escape_javascript(text: str) -> str:
    """Commons Lang 2 ``StringEscapeUtils.escapeJavaScript``: Java-style escapes plus ``\\'`` and ``\\/``."""
    out: list[str] = []
    units = text.encode("utf-16-be", "surrogatepass")
    for index in range(0, len(units), 2):
        code = int.from_bytes(units[index : index + 2], "big")
        char = chr(code)
        if code > 0x7F:
            out.append(f"\\u{code:04X}")
        elif code < 32:
            named = {"\b": "b", "\n": "n", "\t": "t", "\f": "f", "\r": "r"}
            out.append(f"\\{named[char]}" if char in named else f"\\u{code:04X}")
        elif char in "'\"\\/":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def select(document: Any, path: str) -> Any:
    """The value at a JSONPath made of ``$``, ``.name`` and ``[index]``; ``None`` when absent."""
    steps = re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path[1:])
    if not path.startswith("$") or "".join(f".{n}" if n else f"[{i}]" for n, i in steps) != path[1:]:
        raise VtlError(f"unsupported JSONPath {path!r}")
    value = document
    for name, index in steps:
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
    return value


def render(value: Any) -> str:
    """How Velocity writes a value into the output."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise VtlError(f"rendering {type(value).__name__} is not modelled")


class _Parser:
    def __init__(self, template: str, body: Any) -> None:
        self.text = template
        self.pos = 0
        self.body = body
        self.variables: dict[str, Any] = {}
        self.overrides: dict[str, Any] = {}

    # -- template level -------------------------------------------------------------------------------
    def run(self) -> str:
        out, stop = self._block(emit=True)
        if stop is not None:
            raise VtlError(f"unexpected #{stop}")
        return out

    def _block(self, emit: bool) -> tuple[str, str | None]:
        """Text up to a ``#elseif``/``#else``/``#end`` (returned as the stop word) or the end of the template."""
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "#":
                for stop in ("elseif", "else", "end"):
                    if self.text.startswith(f"#{stop}", self.pos) and not (
                        stop == "else" and self.text.startswith("#elseif", self.pos)
                    ):
                        self.pos += len(stop) + 1
                        return "".join(out), stop
                if self.text.startswith("#set(", self.pos):
                    self.pos += len("#set(")
                    self._set(emit)
                elif self.text.startswith("#if(", self.pos):
                    self.pos += len("#if(")
                    out.append(self._if(emit))
                else:
                    raise VtlError(f"unsupported directive at {self.text[self.pos : self.pos + 20]!r}")
            elif char == "$":
                start = self.pos
                quiet, value = self._reference(evaluate=emit)
                if emit:
                    out.append(
                        ""
                        if value is None and quiet
                        else render(value)
                        if value is not None
                        else self.text[start : self.pos]
                    )
            else:
                out.append(char)
                self.pos += 1
        return "".join(out), None

    def _set(self, emit: bool) -> None:
        target = self._match(r"\$([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*")
        value = self._expression(evaluate=emit)
        self._expect(")")
        if not emit:
            return
        if target.startswith("context.responseOverride."):
            self.overrides[target.removeprefix("context.responseOverride.")] = value
        elif "." in target:
            raise VtlError(f"#set of {target!r} is not modelled")
        else:
            self.variables[target] = value

    def _if(self, emit: bool) -> str:
        taken = False
        out = ""
        condition = self._condition(evaluate=emit)
        self._expect(")")
        while True:
            run_branch = emit and not taken and bool(condition)
            text, stop = self._block(emit=run_branch)
            if run_branch:
                out, taken = text, True
            if stop == "end":
                return out
            if stop == "elseif":
                self._expect("(")
                condition = self._condition(evaluate=emit and not taken)
                self._expect(")")
            elif stop == "else":
                condition = True
            else:
                raise VtlError("#if without #end")

    # -- expressions ----------------------------------------------------------------------------------
    def _condition(self, evaluate: bool) -> Any:
        left = self._comparison(evaluate)
        while self._skip_space() and self.text.startswith("||", self.pos):
            self.pos += 2
            self._skip_space()
            right = self._comparison(evaluate)
            left = bool(left) or bool(right)
        return left

    def _comparison(self, evaluate: bool) -> Any:
        left = self._expression(evaluate)
        self._skip_space()
        for operator in ("==", ">"):
            if self.text.startswith(operator, self.pos):
                self.pos += len(operator)
                self._skip_space()
                right = self._expression(evaluate)
                if not evaluate:
                    return False
                if operator == "==":
                    return left == right
                # Velocity logs an error and yields false when a side is null or not a number
                return isinstance(left, int | float) and isinstance(right, int | float) and left > right
        return left

    def _expression(self, evaluate: bool) -> Any:
        self._skip_space()
        char = self.text[self.pos]
        if char == "$":
            return self._reference(evaluate)[1]
        if char in "'\"":
            return self._string(evaluate)
        number = self._match(r"(\d+)")
        return int(number)

    def _string(self, evaluate: bool) -> str:
        quote = self.text[self.pos]
        end = self.text.index(quote, self.pos + 1)
        raw = self.text[self.pos + 1 : end]
        self.pos = end + 1
        if "\\u" in raw:
            raise VtlError("\\u escapes in string literals are not modelled")
        if quote == "'" or "$" not in raw:
            return raw
        inner = _Parser(raw, self.body)
        inner.variables = self.variables
        return inner.run() if evaluate else ""

    def _reference(self, evaluate: bool) -> tuple[bool, Any]:
        self._expect("$")
        quiet = self.text.startswith("!", self.pos)
        if quiet:
            self.pos += 1
        root = self._match(r"([A-Za-z_][A-Za-z0-9_]*)")
        value: Any
        if root == "input" or root == "util":
            self._expect(".")
            method = self._match(r"([A-Za-z]+)\(")
            (argument,) = self._arguments(evaluate)
            value = self._builtin(f"{root}.{method}", argument) if evaluate else None
        elif root in self.variables or not evaluate:
            value = self.variables.get(root)
        else:
            raise VtlError(f"unknown reference ${root}")
        while self.text.startswith(".", self.pos) and re.match(r"\.[A-Za-z]+\(", self.text[self.pos :]):
            self.pos += 1
            method = self._match(r"([A-Za-z]+)\(")
            arguments = self._arguments(evaluate)
            if evaluate and value is not None:
                value = self._string_method(value, method, arguments)
        return quiet, value

    def _arguments(self, evaluate: bool) -> list[Any]:
        arguments: list[Any] = []
        self._skip_space()
        while not self.text.startswith(")", self.pos):
            arguments.append(self._expression(evaluate))
            self._skip_space()
            if self.text.startswith(",", self.pos):
                self.pos += 1
        self.pos += 1
        return arguments

    def _builtin(self, name: str, argument: Any) -> Any:
        if name == "input.json":
            return json.dumps(select(self.body, argument), ensure_ascii=False, separators=(",", ":"))
        if name == "input.path":
            return select(self.body, argument)
        if name == "util.escapeJavaScript":
            return None if argument is None else escape_javascript(render(argument))
        raise VtlError(f"${name} is not modelled")

    @staticmethod
    def _string_method(value: Any, method: str, arguments: list[Any]) -> Any:
        if not isinstance(value, str):
            raise VtlError(f".{method} on {type(value).__name__} is not modelled")
        if method == "replaceAll":
            regex, replacement = arguments
            if "$" in replacement or "\\" in replacement:
                raise VtlError("group references in a replacement are not modelled")
            return re.sub(regex, lambda _: replacement, value)
        if method == "contains":
            (needle,) = arguments
            return needle in value
        raise VtlError(f".{method} is not modelled")

    # -- lexing ---------------------------------------------------------------------------------------
    def _skip_space(self) -> bool:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        return True

    def _expect(self, literal: str) -> None:
        self._skip_space()
        if not self.text.startswith(literal, self.pos):
            raise VtlError(f"expected {literal!r} at {self.text[self.pos : self.pos + 20]!r}")
        self.pos += len(literal)

    def _match(self, pattern: str) -> str:
        found = re.compile(pattern).match(self.text, self.pos)
        if found is None:
            raise VtlError(f"expected {pattern} at {self.text[self.pos : self.pos + 20]!r}")
        self.pos = found.end()
        return found.group(1)


def evaluate(template: str, body: Any) -> Result:
    """Render ``template`` for a request or integration response whose parsed JSON body is ``body``."""
    parser = _Parser(template, body)
    return Result(parser.run(), parser.overrides)

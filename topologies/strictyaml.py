"""YAML reading for scenario files: strict, and hard to fool.

- a key named twice in one mapping is refused (PyYAML would silently let the last one win), and so is
  a key that is a list or a mapping;
- plain scalars follow YAML 1.2's core schema: only true/false are booleans and numbers are decimal,
  0o octal or 0x hex, so `yes`, `off`, `12:30` and an unquoted MAC like 52:54:00:12:34:56 stay text
  (YAML 1.1 made them booleans and base-60 numbers, and errors then spoke of True and 41135085296);
- merge keys (`<<: *base`) work, and keys written out override merged ones, as YAML specifies; a key
  merged in twice is kept once, so merging an anchor into itself level after level stays as small as
  the keys it names (PyYAML doubled the list at every level: 26 lines took 38 s and all memory);
- an explicit tag (`!!int x`, `!!map`, `!python/...`) is refused: no file here needs one, and PyYAML's
  constructors answer a wrong one with a traceback;
- no number needs more than MAX_DIGITS digits, so a longer one is refused before Python converts it.
"""
from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

MAX_DIGITS = 40
CORE = "tag:yaml.org,2002:"
BOOL, INT, FLOAT, MERGE = (f"{CORE}{t}" for t in ("bool", "int", "float", "merge"))


class DuplicateKeyError(yaml.MarkedYAMLError):
    """Raised for a mapping that names the same key twice (two VMs called `web`, say)."""


class _CoreResolver(Resolver):
    """YAML 1.2 core schema for booleans and numbers; the rest (null, merge, timestamps) as PyYAML has it."""

    yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in rules if tag not in (BOOL, INT, FLOAT)]
                               for first, rules in Resolver.yaml_implicit_resolvers.items()}


_CoreResolver.add_implicit_resolver(BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_CoreResolver.add_implicit_resolver(INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                    list("-+0123456789"))
_CoreResolver.add_implicit_resolver(
    FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
                      r"|\.(?:nan|NaN|NAN))$"), list("-+.0123456789"))


class _StrictLoader(Reader, Scanner, Parser, Composer, SafeConstructor, _CoreResolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        _CoreResolver.__init__(self)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if not isinstance(event, AliasEvent) and getattr(event, "tag", None) is not None:
            raise ConstructorError(None, None, f"the tag {_written(event.tag)} is not used here; write the plain "
                                               f"value (a number, text, a list or `key: value` lines)",
                                   event.start_mark)
        return super().compose_node(parent, index)  # type: ignore[no-untyped-call,no-any-return]

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        super().flatten_mapping(node)  # type: ignore[no-untyped-call]
        kept: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
        for pair in node.value:  # each key at the first place it was seen, with its last value
            kept[_identity(pair[0])] = pair
        node.value = list(kept.values())

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE:
                continue
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, Hashable):
                problem = f"a key must be a name, not a {type(key).__name__}; write `name: value`"
                raise ConstructorError(None, None, problem, key_node.start_mark)
            if key in seen:
                raise DuplicateKeyError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(self.construct_scalar(node))  # type: ignore[no-untyped-call]
        digits = text.lstrip("+-")
        if len(digits) > MAX_DIGITS:
            raise ConstructorError(None, None, f"a number of {len(digits)} digits; none here needs more than "
                                               f"{MAX_DIGITS}, so write a shorter one", node.start_mark)
        return int(text, 0) if digits[:2] in ("0o", "0x") else int(text, 10)


_StrictLoader.add_constructor(INT, _StrictLoader.construct_yaml_int)


def _written(tag: str) -> str:
    """A tag as a file spells it: `!!int`, not tag:yaml.org,2002:int."""
    return "!!" + tag.removeprefix(CORE) if tag.startswith(CORE) else tag


def _identity(key: yaml.Node) -> Any:
    """What makes two merged keys the same key: a scalar's tag and text, any other node itself."""
    return (key.tag, key.value) if isinstance(key, yaml.ScalarNode) else id(key)


def load(text: str) -> Any:
    """Parse YAML text; raises yaml.YAMLError (with a position) for bad syntax, a repeated key, a key
    that is not a name or a number too long, and RecursionError for nesting too deep to follow."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()

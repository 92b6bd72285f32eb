"""Strict YAML reading that remembers where every key came from.

PyYAML's safe loader silently keeps the last of two duplicate keys and expands aliases; for MoU
configs both are mistakes waiting to happen (and aliases allow exponential "billion laughs"
documents). This module composes the node tree (where an alias is one more reference to a node
already built, never a copy, so nothing expands), refuses duplicates, aliases, tags beyond plain
YAML's (`!!python/...`), nesting deeper than any config needs and oversize files, and returns plain
data plus a map from key path to line number so that validation errors can name the line.
"""
from __future__ import annotations

import os
import stat

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reciprocal.errors import Problem

MAX_CONFIG_BYTES = 1_000_000
# No MoU config nests deeper than a handful of levels or holds more than a few thousand values
# (the shipped scheme.yaml has 154); the limits stop a hostile `[[[[...` before it exhausts
# Python's stack, and a megabyte of `[1,1,1,...` before it takes seconds to build.
MAX_DEPTH = 50
MAX_NODES = 50_000
# The plain-data tags a config may use (the YAML core schema plus timestamps for dates).
_CORE = "tag:yaml.org,2002:"
PLAIN_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq",
                                                  "timestamp")}

Path_ = tuple[str | int, ...]


@dataclass
class YamlDocument:
    source: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """Line of the deepest known prefix of `path` (a missing key points at its parent)."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


def _construct(node: yaml.Node, path: Path_, doc: YamlDocument, problems: list[Problem],
               seen: set[int]) -> Any:
    if id(node) in seen:
        # An alias resolves to the anchored node itself, whose mark is the anchor's line; the
        # key that uses the alias has already recorded its own line.
        problems.append(Problem(doc.source, "anchors and aliases are not allowed in MoU configs",
                                doc.lines.get(path, node.start_mark.line + 1), _dotted(path)))
        return None
    seen.add(id(node))
    doc.lines[path] = node.start_mark.line + 1
    if len(path) > MAX_DEPTH:
        raise _TooDeep(node.start_mark.line + 1)
    if node.tag not in PLAIN_TAGS:
        tag = _show_tag(node.tag.replace(_CORE, "!!"))
        problems.append(Problem(doc.source, f"the tag '{tag}' is not allowed in MoU configs; write plain "
                                            f"values", node.start_mark.line + 1, _dotted(path)))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(doc.source, "merge keys (<<) are not allowed in MoU configs",
                                        key_node.start_mark.line + 1, _dotted(path)))
                continue
            key = yaml.SafeLoader.construct_scalar(_LOADER, key_node) if isinstance(
                key_node, yaml.ScalarNode) else None
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(doc.source, "keys must be plain text",
                                        key_node.start_mark.line + 1, _dotted(path)))
                continue
            key = str(key)
            if key in out:
                problems.append(Problem(
                    doc.source, f"duplicate key '{key}' (first on line {doc.lines[path + (key,)]})",
                    key_node.start_mark.line + 1, _dotted(path + (key,))))
                continue
            doc.lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, path + (key,), doc, problems, seen)
            doc.lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), doc, problems, seen) for i, item in enumerate(node.value)]
    # Scalars: let the safe constructor resolve ints, bools, dates and nulls.
    try:
        return _LOADER.construct_object(node, deep=True)
    except (ValueError, OverflowError):  # 2026-02-30, an integer of 5,000 digits...
        kind = {"timestamp": "date", "int": "number", "float": "number"}.get(node.tag[len(_CORE):], "value")
        problems.append(Problem(doc.source, f"'{_show_tag(str(node.value))}' is not a valid {kind}",
                                node.start_mark.line + 1, _dotted(path)))
        return None


class _TooDeep(Exception):
    def __init__(self, line: int):
        self.line = line


class _TooMany(_TooDeep):
    pass


def _show_tag(text: str) -> str:
    """A tag or value echoed back: short and printable."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 40 else text[:37] + "..."


class _Loader(yaml.SafeLoader):
    pass


class _BoundedComposer(yaml.SafeLoader):
    """The safe loader's composer, stopped early at MAX_DEPTH levels or MAX_NODES values."""

    def __init__(self, stream):
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent, index):
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _TooMany(self.peek_event().start_mark.line + 1)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_LOADER = _Loader("")

# libyaml (PyYAML's C parser) reads a 1,500-member scheme's files in a fraction of a second where
# the pure-Python parser takes seconds, and every command reads them. It cannot be stopped from
# inside while composing, so its event stream is read first within the same bounds.
_C_LOADER = getattr(yaml, "CSafeLoader", None)
_NODE_EVENTS = (yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)


def _compose_bounded(text: str) -> list[yaml.Node]:
    """Every document's node tree, refusing more than MAX_NODES values or MAX_DEPTH levels."""
    if _C_LOADER is None:  # pragma: no cover - PyYAML built without libyaml
        return list(yaml.compose_all(text, Loader=_BoundedComposer))
    try:
        return _compose_fast(text)
    except yaml.YAMLError:
        # A broken file: the pure-Python parser says what is wrong in the words tests and users
        # know (libyaml's "found character that cannot start any token" for a tab, say).
        return list(yaml.compose_all(text, Loader=_BoundedComposer))


def _compose_fast(text: str) -> list[yaml.Node]:
    nodes = depth = 0
    for event in yaml.parse(text, Loader=_C_LOADER):
        if isinstance(event, _NODE_EVENTS):
            nodes += 1
            if nodes > MAX_NODES:
                raise _TooMany(event.start_mark.line + 1)
            if depth + 1 > MAX_DEPTH:
                raise _TooDeep(event.start_mark.line + 1)
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return list(yaml.compose_all(text, Loader=_C_LOADER))


def _dotted(path: Path_) -> str | None:
    if not path:
        return None
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def dotted(path: Path_) -> str | None:
    return _dotted(path)


def _read_small_file(path: Path) -> tuple[bytes, str | None]:
    """The bytes of a regular file of at most MAX_CONFIG_BYTES, or why not. Its type and size are
    checked on the open descriptor before anything is read: a FIFO would block the read forever,
    a link to /dev/zero would never end, and a 1.5 GB file would be read whole only to be refused.
    The file is opened without blocking, so a FIFO swapped in after the check cannot hang it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return b"", f"cannot read file ({exc.strerror})"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode)
                    or stat.S_ISBLK(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode) else
                    "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file")
            return b"", f"is {kind}, not a regular file; MoU configs are plain YAML files"
        if info.st_size > MAX_CONFIG_BYTES:
            return b"", (f"file is {info.st_size:,} bytes; MoU configs are limited to "
                         f"{MAX_CONFIG_BYTES:,} bytes")
        raw = handle.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:  # it grew while being read
        return b"", f"file is over {MAX_CONFIG_BYTES:,} bytes; MoU configs are limited to that"
    return raw, None


def read_yaml(path: Path, display: str | None = None) -> tuple[YamlDocument | None, list[Problem]]:
    """Read one YAML file strictly. Returns the document (None if unreadable) and its problems."""
    source = display or str(path)
    raw, problem = _read_small_file(path)
    if problem is not None:
        return None, [Problem(source, problem)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem(source, f"not UTF-8 text (bad byte at offset {exc.start})")]
    doc = YamlDocument(source, None)
    problems: list[Problem] = []
    too_deep = f"nested more than {MAX_DEPTH} levels deep; MoU configs never need that"
    try:
        nodes = _compose_bounded(text)
    except _TooMany as exc:
        return None, [Problem(source, f"more than {MAX_NODES:,} values; MoU configs never need that",
                              exc.line)]
    except _TooDeep as exc:
        return None, [Problem(source, too_deep, exc.line)]
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops it first
        return None, [Problem(source, too_deep)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "not valid YAML"
        if "\t" in text and "tab" in str(reason).lower() or "found character '\\t'" in str(exc):
            reason = "tabs are not allowed for indentation; use spaces"
        return None, [Problem(source, f"not valid YAML: {reason}",
                              mark.line + 1 if mark else None)]
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        return None, [Problem(source, f"not valid YAML: {exc}")]
    if len(nodes) != 1:
        return None, [Problem(source, f"expected exactly one YAML document, found {len(nodes)}")]
    try:
        doc.data = _construct(nodes[0], (), doc, problems, set())
    except (_TooDeep, RecursionError) as exc:
        return None, [Problem(source, too_deep, getattr(exc, "line", None))]
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        return None, [Problem(source, f"not valid YAML: {exc.problem}", mark.line + 1 if mark else None)]
    return doc, problems

"""Reading one rule or preset file: plain data out of YAML, or one clear problem.

``read_text`` reads a file only when it is a regular file (a FIFO named ``x.yaml`` would
block the reader for ever), at most ``MAX_FILE_BYTES``, and reads it again once when it
changed while being read. ``parse_yaml`` builds plain data (text, numbers, booleans, null,
lists, mappings) straight from the parser's event stream, iteratively, so that:

* nesting is counted as it is read and a file deeper than ``MAX_DEPTH`` is refused at the
  line where it crosses, before anything recursive runs (50,000 nested ``[`` crash
  libyaml's own tree builder in some versions);
* a key given twice in one mapping is refused with both lines (YAML would keep the last);
* an alias ``*name`` without its anchor in the same file is explained (anchors are per
  file), an alias inside its own anchor is refused, and aliases may not expand the data
  beyond ``MAX_VALUES`` values (an "alias bomb");
* every mapping and list remembers the line of each of its entries, for error messages.

Tags that would build anything else (``!!python/object``, ``!!set``) are refused.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (AliasEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent,
                         ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent)
from yaml.nodes import ScalarNode

from ..errors import Problem, RuleSetError

MAX_FILE_BYTES = 1 << 20  # 1 MiB: the largest bundled file is about 12 KB
MAX_DEPTH = 64  # nested lists and mappings; the bundled files nest at most 5 deep
MAX_VALUES = 100_000  # values in one file, each alias counted as the copy it stands for
MAX_NUMBER_CHARS = 40  # a YAML integer is converted exactly: a 10,000-digit one would stall

# libyaml's parser reads the bundled files about 10x faster than the pure-Python one;
# both emit the same events
_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = SafeConstructor()  # converts int, float, bool, null, timestamp scalars
_TAG = "tag:yaml.org,2002:"
_CONSTRUCT = {
    _TAG + "null": lambda node: None,
    _TAG + "bool": _SCALARS.construct_yaml_bool,
    _TAG + "int": _SCALARS.construct_yaml_int,
    _TAG + "float": _SCALARS.construct_yaml_float,
    _TAG + "timestamp": _SCALARS.construct_yaml_timestamp,
}
_MERGE = _TAG + "merge"


@dataclass
class YamlDocument:
    """A file's data, and the line of every entry of every mapping and list in it."""

    data: object
    lines: dict = field(default_factory=dict, repr=False)  # id(container) -> entry lines
    _keep: list = field(default_factory=list, repr=False)  # keeps those ids unique

    def line_of(self, *path) -> int | None:
        """The line of the entry at ``path`` (keys and list indexes from the top), or of the
        deepest entry on the way that has one."""
        node, line = self.data, None
        for step in path:
            entries = self.lines.get(id(node))
            try:
                found = entries[step] if entries is not None else None
                node = node[step]
            except (KeyError, IndexError, TypeError):
                break
            line = found or line
        return line


def _unreadable(label: str, text: str, line: int | None = None,
                column: int | None = None) -> RuleSetError:
    return RuleSetError([Problem(label, "", text, line, column)])


def read_text(path: Path, label: str) -> str:
    """The text of a regular file, read whole while it does not change.

    Raises ``RuleSetError`` (one problem naming ``label``) for anything that is not a
    regular file, a file over ``MAX_FILE_BYTES``, text that is not UTF-8, or a file that
    changed while it was read, twice.
    """
    for _attempt in range(2):
        before = _stat(path, label)
        data = _read_regular(path, label)
        after = _stat(path, label)
        if _stamp(before) == _stamp(after) and len(data) == after.st_size:
            break
    else:
        raise _unreadable(label, "the file changed while it was being read, twice; load "
                                 "again once it is no longer being written")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _unreadable(label, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be "
                                 "decoded; save the file as UTF-8", line) from None


def _stat(path: Path, label: str) -> os.stat_result:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _unreadable(label, f"cannot read the file: {exc.strerror}") from None
    _check_regular(st, label)
    return st


def _check_regular(st: os.stat_result, label: str) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO (named pipe)"
                if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                else "a device")
        raise _unreadable(label, f"not a regular file but {kind}; rule and preset files "
                                 "must be plain files")
    if st.st_size > MAX_FILE_BYTES:
        raise _unreadable(label, f"the file is {st.st_size:,} bytes, more than the "
                                 f"{MAX_FILE_BYTES:,} a rule or preset file may have")


def _read_regular(path: Path, label: str) -> bytes:
    # O_NONBLOCK: if the path became a FIFO after the stat, opening it must not wait for
    # a writer; fstat then refuses it
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _unreadable(label, f"cannot read the file: {exc.strerror}") from None
    try:
        _check_regular(os.fstat(fd), label)
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _stamp(st: os.stat_result) -> tuple:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


# --- YAML to plain data --------------------------------------------------------------------


def parse_yaml(text: str, label: str, find_anchor=None) -> YamlDocument:
    """Plain data from YAML text, with the line of every entry.

    ``find_anchor(name)`` may say which other file defines an anchor ``&name``, for the
    message about an alias without one here. Raises ``RuleSetError`` with every duplicate
    key, or with the one problem that stopped the reading (syntax, depth, alias, tag).
    """
    builder = _Builder(label, find_anchor)
    parser = _PARSER(text)
    try:
        return builder.run(parser)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        reason = exc.problem or exc.context or "malformed"
        raise _unreadable(label, f"not valid YAML: {reason}{context}",
                          mark.line + 1 if mark else None,
                          mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise _unreadable(label, f"not valid YAML: {exc}".replace("\n", " ")) from None
    finally:
        parser.dispose()


class _Frame:
    """A mapping or list being built."""

    __slots__ = ("container", "lines", "key", "key_line", "merges", "size", "anchor", "line")

    def __init__(self, container, anchor, line):
        self.container, self.anchor, self.line = container, anchor, line
        self.lines = {} if isinstance(container, dict) else []
        self.key = self.key_line = None
        self.merges = []
        self.size = 1


_NO_KEY = object()


class _Builder:
    def __init__(self, label, find_anchor):
        self.label, self.find_anchor = label, find_anchor
        self.document = YamlDocument(None)
        self.anchors: dict[str, tuple[object, int | None]] = {}  # name -> (value, size)
        self.duplicates: list[Problem] = []

    def fail(self, event, text):
        mark = event.start_mark
        raise _unreadable(self.label, text, mark.line + 1, mark.column + 1)

    def run(self, parser) -> YamlDocument:
        stack: list[_Frame] = []
        documents = 0
        while True:
            event = parser.get_event()
            kind = type(event)
            if kind is ScalarEvent:
                self.add(stack, event, self.scalar(event, stack), 1)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    self.fail(event, f"nested more than {MAX_DEPTH} levels deep; rule and "
                                     "preset files need only a few levels")
                self.check_tag(event, "map" if kind is MappingStartEvent else "seq")
                frame = _Frame({} if kind is MappingStartEvent else [], event.anchor,
                               event.start_mark.line + 1)
                frame.key = _NO_KEY
                if event.anchor:
                    self.anchors[event.anchor] = (frame.container, None)  # None: still open
                stack.append(frame)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                self.finish(frame, event)
                self.add(stack, event, frame.container, frame.size, frame)
            elif kind is AliasEvent:
                self.add(stack, event, *self.alias(event))
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    self.fail(event, "more than one YAML document (---) in the file")
            elif kind is StreamEndEvent or event is None:
                break
        if self.duplicates:
            raise RuleSetError(self.duplicates)
        return self.document

    def check_tag(self, event, kind):
        if event.tag not in (None, "!", _TAG + kind):
            self.fail(event, f"not valid YAML: tag {event.tag} is not allowed (rule files hold "
                             "text, numbers, true/false, null, lists and mappings)")

    def scalar(self, event, stack):
        if event.tag is None and event.style in ("'", '"', "|", ">"):
            tag = _TAG + "str"
        elif event.tag in (None, "!"):
            tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)
        else:
            tag = event.tag
        if tag == _TAG + "str":
            value = event.value
        elif tag == _MERGE and stack and isinstance(stack[-1].container, dict) and \
                stack[-1].key is _NO_KEY:
            value = _MERGE_KEY
        elif tag in _CONSTRUCT:
            if tag == _TAG + "int" and len(event.value) > MAX_NUMBER_CHARS:
                self.fail(event, f"a number longer than {MAX_NUMBER_CHARS} characters")
            try:
                value = _CONSTRUCT[tag](ScalarNode(tag, event.value))
            except (ValueError, TypeError, OverflowError):
                self.fail(event, f"not valid YAML: cannot read {event.value!r} as {tag[18:]}")
        else:
            self.fail(event, f"not valid YAML: tag {tag} is not allowed (rule files hold "
                             "text, numbers, true/false, null, lists and mappings)")
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        return value

    def alias(self, event):
        name = event.anchor
        if name not in self.anchors:
            elsewhere = self.find_anchor(name) if self.find_anchor else None
            where = f" (&{name} is defined in {elsewhere})" if elsewhere else ""
            self.fail(event, f"alias *{name} has no anchor &{name} in this file{where}: "
                             f"anchors are per file, so define &{name} in this file before "
                             "using it")
        value, size = self.anchors[name]
        if size is None:
            self.fail(event, f"alias *{name} is inside its own anchor &{name} (a cycle)")
        return value, size

    def add(self, stack, event, value, size, frame=None):
        if not stack:
            self.document.data = value
            self.check_size(event, size)
            return
        parent = stack[-1]
        parent.size += size
        if parent.size > MAX_VALUES:
            self.check_size(event, parent.size)
        container = parent.container
        if isinstance(container, list):
            container.append(value)
            parent.lines.append(event.start_mark.line + 1 if frame is None else frame.line)
        elif parent.key is _NO_KEY:
            self.take_key(parent, event, value, frame)
        else:
            key, parent.key = parent.key, _NO_KEY
            if key is _MERGE_KEY:
                self.merge(parent, event, value)
            else:
                container[key] = value
                parent.lines[key] = parent.key_line

    def take_key(self, parent, event, key, frame):
        if isinstance(key, (dict, list)):
            self.fail(event, "a mapping key must be text or a number, not a list or mapping")
        line = event.start_mark.line + 1
        if key is not _MERGE_KEY and key in parent.container:
            self.duplicates.append(Problem(
                self.label, "", f"key '{key}' is given twice in one mapping (first at line "
                                f"{parent.lines[key]}); YAML would keep only the last: remove "
                                "one", line, event.start_mark.column + 1))
        parent.key, parent.key_line = key, line

    def merge(self, parent, event, value):
        merged = value if isinstance(value, list) else [value]
        if not all(isinstance(m, dict) for m in merged):
            self.fail(event, "a merge key (<<) takes a mapping or a list of mappings")
        parent.merges.extend(merged)

    def finish(self, frame, event):
        container = frame.container
        if frame.merges:
            combined = {}
            for merged in reversed(frame.merges):  # the first merged mapping wins, as in YAML
                combined.update(merged)
            for key, value in combined.items():
                container.setdefault(key, value)
        self.document.lines[id(container)] = frame.lines
        self.document._keep.append(container)
        if frame.anchor:
            self.anchors[frame.anchor] = (container, frame.size)

    def check_size(self, event, size):
        if size > MAX_VALUES:
            self.fail(event, f"the file holds more than {MAX_VALUES:,} values, counting each "
                             "alias as a copy of its anchor")


_MERGE_KEY = object()
_RESOLVER = _PARSER("")  # resolve() reads the implicit resolvers of its class only

"""Definitions in a syntax tree: what they are called, where they start and end.

The chunker asks three things of a file's definitions: which ones start inside a
chunk (its ``defines`` and ``symbol``), which ones enclose a line (the scope
header the embedder sees), and whether a syntax node is one (a split definition
keeps its own chunks). Definitions are found with one tree-sitter query per
language, which walks the tree in C: walking every node from Python would cost
more than the rest of chunking on a large file.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node, Query

# Each pattern captures the definition as @def.<kind> and its name as @name.
# Where several patterns match one node, the first pattern wins.
_PY = """
(class_definition name: (identifier) @name) @def.class
(function_definition name: (identifier) @name) @def.function
"""

_JS_COMMON = """
(class_declaration name: (_) @name) @def.class
(class name: (_) @name) @def.class
(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(method_definition name: (_) @name) @def.method
(variable_declarator name: (identifier) @name value: (class)) @def.class
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @def.function
(assignment_expression left: [(identifier) (member_expression)] @name
  right: [(arrow_function) (function_expression) (generator_function)]) @def.function
(pair key: [(property_identifier) (string)] @name
  value: [(arrow_function) (function_expression) (generator_function)]) @def.function
"""

_JS = _JS_COMMON + """
(field_definition property: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @def.method
"""

_TS = _JS_COMMON + """
(public_field_definition name: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @def.method
(abstract_class_declaration name: (_) @name) @def.class
(interface_declaration name: (_) @name) @def.interface
(enum_declaration name: (_) @name) @def.enum
(type_alias_declaration name: (_) @name) @def.type
(internal_module name: (_) @name) @def.module
(module name: (_) @name) @def.module
"""

_GO = """
(function_declaration name: (identifier) @name) @def.function
(method_declaration receiver: (parameter_list) @receiver name: (field_identifier) @name) @def.method
(type_spec name: (type_identifier) @name type: (struct_type)) @def.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @def.interface
(type_spec name: (type_identifier) @name) @def.type
(type_alias name: (type_identifier) @name) @def.type
"""

_RUST = """
(function_item name: (identifier) @name) @def.function
(function_signature_item name: (identifier) @name) @def.function
(struct_item name: (type_identifier) @name) @def.struct
(union_item name: (type_identifier) @name) @def.struct
(enum_item name: (type_identifier) @name) @def.enum
(trait_item name: (type_identifier) @name) @def.trait
(impl_item type: (_) @name) @def.impl
(mod_item name: (identifier) @name) @def.module
(macro_definition name: (identifier) @name) @def.function
(type_item name: (type_identifier) @name) @def.type
"""

_JAVA = """
(class_declaration name: (identifier) @name) @def.class
(record_declaration name: (identifier) @name) @def.class
(interface_declaration name: (identifier) @name) @def.interface
(annotation_type_declaration name: (identifier) @name) @def.interface
(enum_declaration name: (identifier) @name) @def.enum
(method_declaration name: (identifier) @name) @def.method
(constructor_declaration name: (identifier) @name) @def.method
"""

_C = """
(function_definition declarator: (_) @declarator) @def.function
(struct_specifier name: (type_identifier) @name body: (_)) @def.struct
(union_specifier name: (type_identifier) @name body: (_)) @def.struct
(enum_specifier name: (type_identifier) @name body: (_)) @def.enum
(type_definition type: (struct_specifier !name body: (_)) declarator: (type_identifier) @name) @def.struct
(type_definition type: (union_specifier !name body: (_)) declarator: (type_identifier) @name) @def.struct
(type_definition type: (enum_specifier !name body: (_)) declarator: (type_identifier) @name) @def.enum
"""

_CPP = _C + """
(class_specifier name: (_) @name body: (_)) @def.class
(namespace_definition name: (_) @name) @def.module
"""

_CSHARP = """
(class_declaration name: (identifier) @name) @def.class
(record_declaration name: (identifier) @name) @def.class
(struct_declaration name: (identifier) @name) @def.struct
(interface_declaration name: (identifier) @name) @def.interface
(enum_declaration name: (identifier) @name) @def.enum
(method_declaration name: (identifier) @name) @def.method
(constructor_declaration name: (identifier) @name) @def.method
(local_function_statement name: (identifier) @name) @def.function
(namespace_declaration name: (_) @name) @def.module
(file_scoped_namespace_declaration name: (_) @name) @def.module
"""

_RUBY = """
(class name: (_) @name) @def.class
(module name: (_) @name) @def.module
(method name: (_) @name) @def.function
(singleton_method name: (_) @name) @def.method
"""

_PHP = """
(class_declaration name: (name) @name) @def.class
(interface_declaration name: (name) @name) @def.interface
(trait_declaration name: (name) @name) @def.trait
(enum_declaration name: (name) @name) @def.enum
(function_definition name: (name) @name) @def.function
(method_declaration name: (name) @name) @def.method
(namespace_definition name: (namespace_name) @name) @def.module
"""

_BASH = """
(function_definition name: (word) @name) @def.function
"""

DEFINITION_QUERIES: MappingProxyType[str, str] = MappingProxyType(
    {
        "python": _PY,
        "javascript": _JS,
        "typescript": _TS,
        "tsx": _TS,
        "go": _GO,
        "rust": _RUST,
        "java": _JAVA,
        "c": _C,
        "cpp": _CPP,
        "csharp": _CSHARP,
        "ruby": _RUBY,
        "php": _PHP,
        "bash": _BASH,
    }
)

# A function directly inside one of these is a method.
_CONTAINERS = frozenset({"class", "struct", "interface", "trait", "impl", "enum"})
_RUBY_CONTAINERS = _CONTAINERS | {"module"}
_LABEL_CHARS = 80
# Languages whose names may be qualified in the source (Foo::Bar, App\Models, A.B).
_DOTTED_NAMES = frozenset({"c", "cpp", "csharp", "ruby", "php"})
_GENERIC_ARGS = re.compile(r"<[^<>]*>")
# Declarators that wrap the name without a "declarator" field.
_WRAPPING_DECLARATORS = frozenset(
    {"reference_declarator", "parenthesized_declarator", "attributed_declarator"}
)


@dataclass(frozen=True, slots=True)
class Definition:
    """One named definition: qualified dotted name, kind and 0-based row span."""

    name: str
    kind: str
    start_row: int
    end_row: int
    label: str  # the stripped line that names it, as shown in a scope header
    parent: int  # index of the enclosing definition in the sorted list, -1 at top
    node_id: int


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _strip_generics(text: str) -> str:
    """``Foo<T, Vec<U>>`` -> ``Foo`` (nested arguments removed inside out)."""
    previous = None
    while previous != text and "<" in text:
        previous, text = text, _GENERIC_ARGS.sub("", text)
    return text


def _dotted(text: str) -> str:
    """A qualified name written with ``::``, ``\\`` or ``.`` as a dotted name."""
    parts = []
    for part in re.split(r"::|\\|\.", text):
        part = part.strip()
        if not part:
            continue
        parts.append(part if part.startswith("operator") else _strip_generics(part).strip())
    return ".".join(p for p in parts if p)


def _type_name(text: str) -> str:
    """The bare type name of a Rust impl target or Go receiver type."""
    text = _strip_generics(text).strip().lstrip("&*").strip()
    text = re.sub(r"^(mut|dyn|const)\s+", "", text)
    return text.split("::")[-1].split(".")[-1].strip() or text


def _declarator_name(node: Node) -> Node | None:
    """The name inside a C/C++ declarator chain (``*(f)(int)`` -> ``f``)."""
    current: Node | None = node
    while current is not None:
        if current.type == "function_declarator":
            return current.child_by_field_name("declarator")
        nested = current.child_by_field_name("declarator")
        if nested is None and current.type in _WRAPPING_DECLARATORS and current.named_child_count:
            nested = current.named_children[-1]
        current = nested
    return None


def _receiver_type(receiver: Node) -> str:
    """The type a Go method is declared on: ``(r *Runner[T])`` -> ``Runner``."""
    stack = [receiver]
    while stack:
        node = stack.pop()
        if node.type == "type_identifier":
            return _text(node)
        stack.extend(reversed(node.named_children))
    return ""


def _label(lines: list[str], start_row: int, name_row: int) -> str:
    """The line that names a definition, shown in the scope header.

    The name's line rather than the node's first line, which may be an
    annotation (``@Override``, ``[Obsolete]``); but not when the name comes
    after the body, as in ``typedef struct { ... } name;``.
    """
    row = name_row
    if not 0 <= row < len(lines) or lines[row].lstrip().startswith("}"):
        row = start_row
    if not 0 <= row < len(lines):
        return ""
    line = lines[row].strip().lstrip("\ufeff").strip().rstrip("{: \t")
    return line[:_LABEL_CHARS]


def _raw_definitions(language: str, query: Query, root: Node) -> list[tuple[Node, str, str, Node]]:
    """(node, kind, local name, name node) per definition node, first pattern wins."""
    from tree_sitter import QueryCursor

    best: dict[int, tuple[int, Node, str, str, Node]] = {}
    for pattern, captures in QueryCursor(query).matches(root):
        def_node = kind = None
        for capture, nodes in captures.items():
            if capture.startswith("def."):
                def_node, kind = nodes[0], capture[4:]
        if def_node is None or kind is None:
            continue
        known = best.get(def_node.id)
        if known is not None and known[0] <= pattern:
            continue
        named = _name_of(language, kind, captures)
        if named is None:
            continue
        name, kind, name_node = named
        best[def_node.id] = (pattern, def_node, kind, name, name_node)
    return [(node, kind, name, name_node) for _, node, kind, name, name_node in best.values()]


def _name_of(language: str, kind: str, captures: dict[str, list[Node]]) -> tuple[str, str, Node] | None:
    """The local (possibly already qualified) name and final kind of one match."""
    if "declarator" in captures:  # C / C++ function definitions
        name_node = _declarator_name(captures["declarator"][0])
        if name_node is None:
            return None
        raw = _text(name_node)
        name = _dotted(raw)
        if name_node.type == "qualified_identifier" and "." in name:
            kind = "method"  # Foo::bar defined out of line
        return (name, kind, name_node) if name else None
    name_node = captures["name"][0]
    raw = _text(name_node)
    if "receiver" in captures:  # Go: func (r *Runner) Run() -> Runner.Run
        owner = _receiver_type(captures["receiver"][0])
        return (f"{owner}.{raw}" if owner else raw), kind, name_node
    if kind == "impl":
        return _type_name(raw), kind, name_node
    if name_node.type == "string":
        raw = raw.strip("'\"`")
    name = _dotted(raw) if language in _DOTTED_NAMES else raw.strip()
    return (name, kind, name_node) if name else None


def find_definitions(language: str, query: Query, root: Node, lines: list[str]) -> list[Definition]:
    """Every definition under ``root``, sorted by position, with qualified names."""
    raw = _raw_definitions(language, query, root)
    raw.sort(key=lambda item: (item[0].start_byte, -item[0].end_byte))
    containers = _RUBY_CONTAINERS if language == "ruby" else _CONTAINERS
    out: list[Definition] = []
    stack: list[tuple[int, int]] = []  # (end_byte, index in out)
    for node, kind, name, name_node in raw:
        end = node.end_byte
        while stack and stack[-1][0] < end:
            stack.pop()
        parent = stack[-1][1] if stack else -1
        if parent >= 0:
            outer = out[parent]
            if kind == "function" and outer.kind in containers:
                kind = "method"
            name = f"{outer.name}.{name}"
        out.append(
            Definition(
                name=name,
                kind=kind,
                start_row=node.start_point.row,
                end_row=node.end_point.row,
                label=_label(lines, node.start_point.row, name_node.start_point.row),
                parent=parent,
                node_id=node.id,
            )
        )
        stack.append((end, len(out) - 1))
    return out


class DefinitionIndex:
    """Row lookups over a file's definitions, each O(log n + answer)."""

    def __init__(self, definitions: list[Definition]) -> None:
        self.definitions = definitions
        self._starts = [d.start_row for d in definitions]
        self.node_ids = frozenset(d.node_id for d in definitions)

    def starting_in(self, first: int, last: int) -> list[Definition]:
        """Definitions whose node starts on a row in ``first..last``, in order."""
        lo = bisect_left(self._starts, first)
        hi = bisect_right(self._starts, last)
        return self.definitions[lo:hi]

    def enclosing(self, row: int) -> list[Definition]:
        """Definitions that started before ``row`` and are still open on it, outermost first."""
        index = bisect_left(self._starts, row) - 1
        while index >= 0 and self.definitions[index].end_row < row:
            index = self.definitions[index].parent
        chain = []
        while index >= 0:
            chain.append(self.definitions[index])
            index = self.definitions[index].parent
        chain.reverse()
        return chain

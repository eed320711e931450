"""Local names that hide a definition: ``if chain, ok := h.(*ChainHandler)`` inside a Go function, a Python
parameter ``total``. There the name is the local, not the function a patch renamed, so it is no use of it.

Read from the syntax tree, in every grammar alike: an identifier bound by a parameter, an assignment's left side,
a ``let``/``var``/``:=`` or a loop variable hides the name in the function (or lambda, closure, method) that
holds it: a parameter in all of it, a variable from its declaration on. Names bound outside any function are left
alone (a class attribute, a module variable: those may well be the renamed definition's own kind), as are
imports, which are what a rename must change.
"""

from __future__ import annotations

# (the binding node's type, the field the name sits in; None: a child without a field, as in a parameter list)
_BINDS = frozenset({
    ("parameter_declaration", "name"), ("short_var_declaration", "left"), ("var_spec", "name"),  # Go
    ("const_spec", "name"), ("range_clause", "left"),
    ("parameters", None), ("typed_parameter", None), ("default_parameter", "name"),  # Python
    ("typed_default_parameter", "name"), ("lambda_parameters", None), ("assignment", "left"),
    ("for_statement", "left"),
    ("formal_parameters", None), ("variable_declarator", "name"), ("for_in_statement", "left"),  # JS, TS, Java
    ("required_parameter", "pattern"), ("optional_parameter", "pattern"), ("formal_parameter", "name"),
    ("enhanced_for_statement", "name"),
    ("parameter", "pattern"), ("let_declaration", "pattern"), ("closure_parameters", None),  # Rust
    ("method_parameters", None),  # Ruby (and "assignment"/left above)
    ("parameter_declaration", "declarator"), ("init_declarator", "declarator"),  # C, C++
})
# nodes a bound name may sit in on its way to the binding: `a, chain := ...`, `let (total, b) = ...`
_THROUGH = frozenset({"expression_list", "pattern_list", "tuple_pattern", "array_pattern", "list_pattern"})
_SCOPES = ("function", "method", "lambda", "closure", "func_literal", "constructor")


def hidden(tree, source: bytes, name: str):
    """A test (start byte) → whether the identifier ``name`` there is a local binding or stands where one hides
    the definition; ``tree`` is ``source``'s syntax tree."""
    spans: list[tuple[int, int]] = []
    binders: set[int] = set()
    target = name.encode("utf-8", "surrogatepass")
    for node in _identifiers(tree.root_node, target, source):
        found = _binding_scope(node)
        if found is not None:
            binder, scope = found
            binders.add(node.start_byte)
            # a parameter hides the name in the whole function; a variable from its declaration on (before it,
            # in most languages, the name is still the outer one)
            spans.append((scope.start_byte if "parameter" in binder.type else binder.start_byte, scope.end_byte))

    def test(start: int) -> bool:
        return start in binders or any(lo <= start < hi for lo, hi in spans)

    return test


def _identifiers(root, target: bytes, source: bytes):
    """The identifier nodes spelled ``target``, found from the places the bytes occur (no walk of the whole tree)."""
    at = source.find(target)
    while at != -1:
        end = at + len(target)
        node = root.descendant_for_byte_range(at, end)
        if node is not None and node.type == "identifier" and (node.start_byte, node.end_byte) == (at, end):
            yield node
        at = source.find(target, at + 1)


def _binding_scope(node):
    """The node that binds ``node`` and the function-like node it hides the name in, or None if ``node`` binds
    nothing there (or nothing inside a function)."""
    child, parent = node, node.parent
    while parent is not None and parent.type in _THROUGH:
        child, parent = parent, parent.parent
    if parent is None or (parent.type, _field_of(parent, child)) not in _BINDS:
        return None
    scope = parent
    while scope is not None:
        if any(word in scope.type for word in _SCOPES) and scope.child_by_field_name("body") is not None:
            return parent, scope
        scope = scope.parent
    return None


def _field_of(parent, child) -> str | None:
    for i in range(parent.child_count):
        if parent.child(i).id == child.id:
            return parent.field_name_for_child(i)
    return None

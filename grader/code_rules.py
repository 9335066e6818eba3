"""Rules a task states about the code itself ("do not call TensorFlow"), checked from the source.

The grader reads the student's answer cells from the rebuilt notebook it executes, never from
the kernel, and hands them to the hidden tests as `answer_code` (grade id -> source). A hidden
test then checks a prohibition on that source, for example:

    code_rules.check_not_used(answer_code, "conv2d_valid", FRAMEWORKS,
                              rule="conv2d_valid uses NumPy only: no TensorFlow or Keras")

The check follows every global name the answer reads to where any answer cell binds it: a
helper function or class, but also an assignment (`pool = tf.nn.max_pool2d`), a lambda, an
import (`from tensorflow.nn import max_pool2d as mp`) or a `global` set inside a function, in
another answer cell or the same one, and every name or attribute it reads to where an answer
cell stores it in shared state (`np.conv = ...`, `builtins.conv = ...`, `globals()["conv"]`,
`setattr(np, "conv", ...)`); what it finds there is held to the same rule (Python's
`symtable` says which names are global, so a helper's local variables lead nowhere). It
refuses what would hide a name from the reader (`__import__`, `importlib`, `getattr`/`globals()`
by string, `eval`, `exec`, `sys.modules`), since a rule that can be dodged by spelling is no
rule.
"""

from __future__ import annotations

import ast
import re
import symtable

from helpers.checks import CheckFailed

# Modules a "NumPy only" part may not reach, by the names they are imported as.
FRAMEWORKS = ("tensorflow", "tf", "keras", "scipy", "torch", "jax", "cv2", "skimage", "PIL")
# What would reach a module without naming it in the source.
DODGES = {"__import__", "importlib", "eval", "exec", "compile", "globals", "vars", "getattr"}


def _tree(source: str) -> ast.Module | None:
    cleaned = re.sub(r"^\s*[!%].*$", "", source, flags=re.M)  # IPython magics
    try:
        return ast.parse(cleaned)
    except SyntaxError:
        return None


def _scopes(source: str) -> list[symtable.SymbolTable] | None:
    """The module scope of `source` and every scope inside it; None when Python cannot read it
    (for example `await` at the top of a cell)."""
    try:
        tables = [symtable.symtable(source, "<answer>", "exec")]
    except SyntaxError:
        return None
    for table in tables:  # grows as it goes: breadth first
        tables.extend(table.get_children())
    return tables


def _global_reads(node: ast.AST) -> set[str] | None:
    """The module-level names `node` reads: at its top those it reads without binding them
    there, inside its functions and classes every name that resolves to the module's globals.
    None when that cannot be told (then every name counts)."""
    tables = _scopes(ast.unparse(node))
    if tables is None:
        return None
    top, *inner = tables
    reads = {
        symbol.get_name()
        for symbol in top.get_symbols()
        if symbol.is_referenced() and not (symbol.is_assigned() or symbol.is_imported())
    }
    for table in inner:
        reads |= {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
    return reads


def _module_bindings(statement: ast.stmt) -> set[str]:
    """The module-level names a top-level statement binds: what it defines, assigns or imports,
    and what its functions declare `global` and assign."""
    tables = _scopes(ast.unparse(statement))
    if tables is None:
        return set()
    top, *inner = tables
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    for table in inner:
        bound |= {
            s.get_name() for s in table.get_symbols() if s.is_declared_global() and s.is_assigned()
        }
    return bound


# What `_shared_stores` gives for a name computed when the cell runs (`setattr(np, name, f)`,
# `globals()[name] = f`): any global or attribute the answer reads may be that one.
ANY_NAME = "*"


def _namespace(node: ast.expr) -> bool:
    """Whether an expression is a namespace's own dictionary: `globals()`, `vars(x)`,
    `locals()` or `x.__dict__`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("globals", "vars", "locals")
    return isinstance(node, ast.Attribute) and node.attr == "__dict__"


def _shared_stores(statement: ast.stmt) -> set[str]:
    """Names a statement puts into shared state instead of binding them: an attribute it
    assigns on anything but `self` or `cls` (`np.conv = ...`, `builtins.conv = ...`), a string
    key it stores under (`globals()["conv"] = ...`), a string name it gives `setattr`; and
    `ANY_NAME` for a name computed at run time given to `setattr` or used as a key of a
    namespace's dictionary (an array's `out[i] = ...` is no namespace)."""
    stored: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                stored.add(node.attr)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                stored.add(node.slice.value)
            elif _namespace(node.value):
                stored.add(ANY_NAME)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr":
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                stored.add(name.value)
            else:
                stored.add(ANY_NAME)
    return stored


def _attributes_read(node: ast.AST) -> set[str]:
    return {
        leaf.attr
        for leaf in ast.walk(node)
        if isinstance(leaf, ast.Attribute) and isinstance(leaf.ctx, ast.Load)
    }


def _names_used(node: ast.AST) -> set[str]:
    found = set()
    for leaf in ast.walk(node):
        if isinstance(leaf, ast.Name):
            found.add(leaf.id)
        elif isinstance(leaf, ast.Import):
            found.update(alias.name.split(".")[0] for alias in leaf.names)
            found.update((alias.asname or "") for alias in leaf.names)
        elif isinstance(leaf, ast.ImportFrom) and leaf.module:
            found.add(leaf.module.split(".")[0])
        elif isinstance(leaf, ast.Attribute) and leaf.attr == "modules":
            base = leaf.value
            if isinstance(base, ast.Name) and base.id == "sys":
                found.add("sys.modules")
    return found - {""}


def uses(answers: dict[str, str], grade_id: str, forbidden: tuple[str, ...]) -> list[str]:
    """What of `forbidden` (or a way around naming it) the answer `grade_id` reaches, directly
    or through the functions of any answer cell it calls; an empty list when nothing."""
    trees = {gid: _tree(source) for gid, source in answers.items()}
    if trees.get(grade_id) is None:
        return []  # unreadable or unanswered: other checks fail it
    bindings: dict[str, list[ast.stmt]] = {}  # module-level name -> the statements binding it
    stores: dict[str, list[ast.stmt]] = {}  # attribute or key -> the statements storing it
    for tree in trees.values():
        for statement in tree.body if tree is not None else []:
            for name in _module_bindings(statement):
                bindings.setdefault(name, []).append(statement)
            for name in _shared_stores(statement):
                stores.setdefault(name, []).append(statement)
    visited: set[int] = set()  # the statements already read
    found: set[str] = set()
    pending: list[ast.AST] = [trees[grade_id]]
    while pending:
        node = pending.pop()
        names = _names_used(node)
        found |= names & (set(forbidden) | DODGES | {"sys.modules"})
        reads = _global_reads(node)
        reads = names if reads is None else reads
        # A global name is bound by a statement, or stored in builtins or globals() by one; an
        # attribute the answer reads (np.conv) may have been stored on a shared object.
        links = ((reads, bindings), (reads, stores), (_attributes_read(node), stores))
        for wanted, where in links:
            named = wanted & set(where)
            if wanted and ANY_NAME in where:  # stored under a name computed at run time
                named.add(ANY_NAME)
            for name in sorted(named):
                for statement in where[name]:
                    if id(statement) not in visited:
                        visited.add(id(statement))
                        pending.append(statement)
    return sorted(found)


def check_not_used(
    answers: dict[str, str], grade_id: str, forbidden: tuple[str, ...], rule: str
) -> None:
    """Fail with `rule` when the answer reaches anything in `forbidden` (see `uses`)."""
    reached = uses(answers, grade_id, forbidden)
    if reached:
        raise CheckFailed(f"{rule} (the answer uses {', '.join(reached)})")


def _imported_names(trees: list[ast.Module]) -> dict[str, str]:
    """Names the answer cells import, to the dotted name they stand for."""
    names: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def subclasses(answers: dict[str, str], grade_id: str, class_name: str, base: str) -> bool:
    """Whether the answer `grade_id` defines the class `class_name` on `base` (a dotted name
    such as "keras.callbacks.Callback"), read from the source: the base written as that name,
    through TensorFlow (`tf.keras.callbacks.Callback`), through a name imported in an answer
    cell (`from keras.callbacks import Callback as Base`), or through another class of the
    answer cells that is itself defined on it."""
    trees = [tree for tree in map(_tree, answers.values()) if tree is not None]
    imported = _imported_names(trees)
    defined = {
        node.name: node for tree in trees for node in tree.body if isinstance(node, ast.ClassDef)
    }

    def resolve(node: ast.AST) -> str:
        head, _, rest = ast.unparse(node).partition(".")
        text = ".".join(filter(None, [imported.get(head, head), rest]))
        for prefix in ("tensorflow.keras.", "tf.keras."):
            if text.startswith(prefix):
                text = "keras." + text[len(prefix) :]
        return text

    def on_base(name: str, seen: frozenset) -> bool:
        node = defined.get(name)
        if node is None or name in seen:
            return False
        return any(
            resolve(parent) == base or on_base(resolve(parent), seen | {name})
            for parent in node.bases
        )

    tree = _tree(answers.get(grade_id, ""))
    own = {n.name for n in tree.body if isinstance(n, ast.ClassDef)} if tree is not None else set()
    return class_name in own and on_base(class_name, frozenset())

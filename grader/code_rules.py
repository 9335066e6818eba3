"""Rules a task states about the code itself ("do not call TensorFlow"), checked from the source.

The grader reads the student's answer cells from the rebuilt notebook it executes, never from
the kernel, and hands them to the hidden tests as `answer_code` (grade id -> source). A hidden
test then checks a prohibition on that source, for example:

    code_rules.check_not_used(answer_code, "conv2d_valid", FRAMEWORKS,
                              rule="conv2d_valid uses NumPy only: no TensorFlow or Keras")

The check follows the answer's own helpers: a function defined in another answer cell (or in
the same one) that the answer calls is held to the same rule. It refuses what would hide a
name from the reader (`__import__`, `importlib`, `getattr`/`globals()` by string, `eval`,
`exec`, `sys.modules`), since a rule that can be dodged by spelling is no rule.
"""

from __future__ import annotations

import ast
import re

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


def _defined(tree: ast.Module) -> dict[str, ast.AST]:
    """Top-level functions and classes an answer cell defines."""
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
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
    defined: dict[str, ast.AST] = {}
    for tree in trees.values():
        if tree is not None:
            defined.update(_defined(tree))
    seen: set[str] = set()
    found: set[str] = set()
    pending: list[ast.AST] = [trees[grade_id]]
    while pending:
        node = pending.pop()
        names = _names_used(node)
        found |= names & (set(forbidden) | DODGES | {"sys.modules"})
        for name in sorted(names & set(defined) - seen):
            seen.add(name)
            pending.append(defined[name])
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

"""The shape of the code, measured: no import cycles among first-party modules, no module over
MAX_LINES, setting names spelled only in model/protocol.py, backends built only through make_backend.

Each measurement is a function of the source tree (parsed with `ast`, nothing imported but
model.protocol), so `python tests/test_code_shape.py` prints them all.
"""
from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.protocol import SETTING_NAMES  # noqa: E402

PACKAGES = ("model", "data", "train", "eval", "scripts")
MAX_LINES = 450
SKIP_DIRS = {"tests", "outputs", "__pycache__", "node_modules", "venv"}


def python_files(root: Path = ROOT) -> Iterator[Path]:
    """Every .py file of the repo outside tests/ and hidden or generated folders."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts[:-1]
        if not any(p.startswith(".") or p in SKIP_DIRS for p in parts):
            yield path


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in python_files(root)
            if p.relative_to(root).parts[0] in PACKAGES}


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import time: the body, and the branches of top-level if/try (not the
    `if TYPE_CHECKING:` block, which never runs)."""
    for node in body:
        if isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level(block)
        else:
            yield node


def module_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The first-party modules `name` imports at module level."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _module_level(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = first_party_modules(root)
    return {name: module_imports(name, path, modules) for name, path in modules.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(cycles)


def long_modules(root: Path = ROOT, limit: int = MAX_LINES) -> dict[str, int]:
    """Non-test modules over `limit` lines, with their line counts."""
    counts = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines())
              for p in python_files(root)}
    return {p: n for p, n in counts.items() if n > limit}


# (file, assigned name): strings there that equal a setting name but mean something else
NOT_SETTINGS = {
    ("model/reward/inputs.py", "BASELINE_COLUMNS"),  # "baseline": the request column of a baseline response
}


def setting_literals(root: Path = ROOT) -> dict[str, int]:
    """Files outside model/protocol.py and tests/ with string constants equal to a setting name."""
    out = {}
    for path in python_files(root):
        rel = str(path.relative_to(root))
        if rel == "model/protocol.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exempt = {id(c) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                  and any(isinstance(t, ast.Name) and (rel, t.id) in NOT_SETTINGS for t in node.targets)
                  for c in ast.walk(node.value)}
        n = sum(isinstance(node, ast.Constant) and node.value in SETTING_NAMES and id(node) not in exempt
                for node in ast.walk(tree))
        if n:
            out[rel] = n
    return out


def made_backend_classes(root: Path = ROOT) -> set[str]:
    """The classes make_backend constructs (read from its body)."""
    tree = ast.parse((root / "model/backends/config.py").read_text(encoding="utf-8"))
    [fn] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "make_backend"]
    return {n.func.id for n in ast.walk(fn)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id.endswith("Backend")}


def direct_backend_calls(root: Path = ROOT) -> dict[str, list[int]]:
    """Call sites outside model/backends/ and tests/ that construct a make_backend class directly."""
    classes = made_backend_classes(root)
    out = {}
    for path in python_files(root):
        rel = path.relative_to(root)
        if rel.parts[:2] == ("model", "backends"):
            continue
        lines = [n.lineno for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(n, ast.Call) and (getattr(n.func, "id", None) in classes
                                                 or getattr(n.func, "attr", None) in classes)]
        if lines:
            out[str(rel)] = sorted(lines)
    return out


# --------------------------------------------------------------------------- the measurements' own checks

def test_cycle_finder_finds_a_planted_cycle(tmp_path):
    for rel, text in {"model/__init__.py": "", "model/a.py": "from model import b\n",
                      "model/b.py": "import model.c\n", "model/c.py": "from . import a\n",
                      "model/d.py": "def f():\n    import model.a\n",
                      "data/__init__.py": "", "data/e.py": "from model.a import x\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    graph = import_graph(tmp_path)
    assert graph["model.d"] == set()  # function-level imports are not module-level
    assert graph["data.e"] == {"model.a"}
    assert import_cycles(graph) == [["model.a", "model.b", "model.c"]]


def test_setting_literal_counter_counts_a_planted_literal(tmp_path):
    (tmp_path / "model/reward").mkdir(parents=True)
    (tmp_path / "model/protocol.py").write_text('SKILL_FAIR = "skill_fair"\n')
    (tmp_path / "model/reward/inputs.py").write_text(
        'BASELINE_COLUMNS = ("baseline", "x")\nDEFAULT = "baseline"\n')
    (tmp_path / "model/b.py").write_text('def f(s="skill_fair"):\n    return {"skill_operational": 1}\n')
    assert setting_literals(tmp_path) == {"model/reward/inputs.py": 1, "model/b.py": 2}


def test_backend_classes_are_read_from_make_backend():
    assert {"HFBackend", "OpenAIBackend", "VLLMBackend"} <= made_backend_classes()


# --------------------------------------------------------------------------- the repo

def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 50, "the first-party modules were not found"
    assert import_cycles(graph) == []


def test_no_module_over_max_lines():
    assert long_modules() == {}


def test_setting_names_are_spelled_only_in_protocol():
    assert setting_literals() == {}


def test_backends_are_built_through_make_backend():
    assert direct_backend_calls() == {}


if __name__ == "__main__":
    graph = import_graph()
    print(f"first-party modules: {len(graph)}, import edges: {sum(map(len, graph.values()))}")
    print(f"import cycles: {len(import_cycles(graph))} {import_cycles(graph)}")
    print(f"modules over {MAX_LINES} lines: {len(long_modules())} {long_modules()}")
    lits = setting_literals()
    print(f"setting-name literals outside protocol: {sum(lits.values())} in {len(lits)} files {lits}")
    calls = direct_backend_calls()
    print(f"direct backend constructions ({', '.join(sorted(made_backend_classes()))}): "
          f"{sum(map(len, calls.values()))} {calls}")

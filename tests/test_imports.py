"""fastnn's import graph has no cycle: every ``import`` of a fastnn module in
fastnn/**/*.py (at the top of a file or inside a function) is an edge, and
plotting depends on the core, never the reverse."""
import ast
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1] / "fastnn"
# MLP.to_torch/from_torch import fastnn.export lazily (landed with the export work);
# to be removed by its owner.
PENDING = {("fastnn.network", "fastnn.export")}


def module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node, module, is_package, modules):
    """The fastnn modules an Import/ImportFrom node names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in modules]
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    base = node.module or ""
    if node.level:
        base = f"{package}.{base}" if base else package
    found = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
    return found or ([base] if base in modules else [])


def import_graph():
    """{module: set of the fastnn modules it imports}."""
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {module: set() for module in files}
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module].update(imported(node, module, path.name == "__init__.py", files))
        graph[module].discard(module)
    for module, target in PENDING:
        graph.get(module, set()).discard(target)
    return graph


def cycles(graph):
    """One cycle (a list of modules) through each back edge of a depth-first search."""
    found, state, path = [], {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_the_graph_sees_the_imports():
    graph = import_graph()
    assert "fastnn._kernels.epoch" in graph["fastnn.training"]
    assert "fastnn.approximation" in graph["fastnn.plotting.approximation"]
    assert "fastnn._kernels.layout" in graph["fastnn._kernels.numba.network"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_core_never_imports_plotting():
    graph = import_graph()
    core = [m for m in graph if not m.startswith(("fastnn.plotting", "fastnn.demos", "fastnn.cli"))]
    offenders = [(m, t) for m in core for t in graph[m] if t.startswith("fastnn.plotting")]
    assert offenders == []

"""The package as a whole: importing it is cheap, its version has one source, its modules form no cycle."""

import ast
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import coursekit

ROOT = Path(coursekit.__file__).parent


def test_import_coursekit_leaves_torch_out():
    code = "import sys, coursekit; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_version_comes_from_the_package_metadata():
    assert coursekit.__version__ == metadata.version("coursekit")
    assert callable(coursekit.seed_everything)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the coursekit modules it imports at module level (imports inside functions are lazy)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coursekit"):
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("coursekit"))
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycles_anywhere_in_the_package():
    graph = _import_graph()
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(stack + [nxt])}")
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])


def test_every_module_is_at_most_400_lines():
    long = {_module_name(p): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"split these modules (≲ 400 lines each): {long}"


def test_moved_names_are_the_same_objects_under_their_old_paths():
    from coursekit import batchnorm, data, distill, metrics, models, prune, size, stats

    assert distill.compare_seeds is stats.compare_seeds and distill.MLPStudent is models.MLPStudent
    assert distill.split_labels is data.split_labels and distill.class_accuracy is metrics.class_accuracy
    assert prune.compare_speed is metrics.compare_speed and prune.size_on_disk is size.size_on_disk
    assert prune.recalibrate_batchnorm is batchnorm.recalibrate_batchnorm

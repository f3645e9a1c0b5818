"""The library reads as its notebooks say: every module opens with a complete one-line summary, and no import runs upward
(a module imports only the modules numbered below its notebook, lazily or not)."""

import ast, json
import pytest
from psd_clip.core import PROJECT_ROOT

PACKAGE, NBS = PROJECT_ROOT / "psd_clip", PROJECT_ROOT / "nbs"
MODULES = sorted(p for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))


def notebook_of(module: str) -> str:
    "The notebook that exports `module` (its number orders the modules)."
    for nb in NBS.glob("*.ipynb"):
        if f"#| default_exp {module}" in "".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"][:3]):
            return nb.stem
    raise AssertionError(f"no notebook exports {module}")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_summary_is_one_complete_line(path):
    summary = ast.get_docstring(ast.parse(path.read_text()))
    assert summary and "\n" not in summary and summary.rstrip().endswith((".", ")")), f"{path.name}: {summary!r}"


def test_no_module_imports_one_above_it():
    order = {p.stem: notebook_of(p.stem) for p in MODULES}
    upward = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            name = node.module if node.level == 1 else node.module.removeprefix("psd_clip.")  # lazy imports stay absolute
            if name in order and order[name] > order[path.stem]:
                upward.append(f"{path.stem} ({order[path.stem]}) imports {name} ({order[name]})")
    assert not upward, upward

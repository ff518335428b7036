"""The shape of the house (docs/ARCHITECTURE.md): what import-linter cannot see, checked here."""

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = sorted(
    path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name not in {"tests", "migrations", "bench"}
)
SERVICE_MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for pattern in ("*/services.py", "*/tasks.py", "*/events.py")
    for path in ROOT.glob(pattern)
)


# A feature's routes, forms and CLI commands are the web layer: they may use any feature's services.
WEB_LAYER = (".views", ".forms", ".commands")


def _is_web_layer(module: str) -> bool:
    return module.endswith(WEB_LAYER) or module.split(".")[0] == "web"


def test_no_import_cycle_between_packages_below_the_web_layer():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for module in graph.modules:
        if _is_web_layer(module):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            assert not _is_web_layer(imported), f"{module} imports the web layer ({imported})"
            edges[module.split(".")[0]].add(imported.split(".")[0])
    cycles = []

    def visit(package: str, trail: list[str]) -> None:
        for other in sorted(edges[package] - {package}):
            if other in trail:
                cycles.append(" -> ".join([*trail[trail.index(other) :], other]))
            elif other not in done:
                visit(other, [*trail, other])
        done.add(package)

    done: set[str] = set()
    for package in PACKAGES:
        visit(package, [package])
    assert cycles == []


@pytest.mark.parametrize("module", SERVICE_MODULES)
def test_importing_services_loads_no_views(module):
    """A feature's __init__ could import its views as a side effect; import-linter cannot see that."""
    # Only our own packages: a library may have modules named views (openpyxl does).
    probe = (
        f"import sys, {module}; ours = {PACKAGES!r}; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ours "
        "and (name.endswith('.views') or name.split('.')[0] == 'web')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"

"""The .pyi stubs of the compiled modules say exactly what Python can see.

For every .pyx of the package (and of httpool.bench), its .pyi is parsed with
ast and compared with the imported module, both ways: every name and class
member the stub declares exists at runtime (a method as a method, a property
or field as a data attribute), and every public name the module defines, and
every member of its classes (including _private ones, which other modules
call, and protocol dunders such as __len__), is declared in the stub. A `def`
or `cpdef` method, a readonly/public field or a class added to the runtime
without its stub fails here, and so does a stub entry left behind.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import types
from pathlib import Path

import pytest

import httpool

PACKAGE = Path(httpool.__file__).parent
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# Every compiled module: one .pyx each, its stub beside it.
MODULES = sorted(
    ".".join(("httpool",) + pyx.relative_to(PACKAGE).with_suffix("").parts)
    for pyx in (*PACKAGE.glob("*.pyx"), *PACKAGE.glob("bench/*.pyx"))
)

# Dunders that belong in a stub when a class defines them; the others
# (__init__ from __cinit__, __repr__, __del__, pickling) need not be listed.
PROTOCOL_DUNDERS = {
    "__len__", "__iter__", "__next__", "__contains__", "__getitem__", "__setitem__",
    "__delitem__", "__enter__", "__exit__", "__call__", "__bool__", "__eq__", "__ne__",
    "__lt__", "__le__", "__gt__", "__ge__", "__add__", "__aiter__", "__anext__", "__await__",
    "__aenter__", "__aexit__", "__buffer__", "__index__", "__int__", "__float__",
}


def source_of(module: str) -> Path:
    return PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".pyx")


def stub_of(module: str) -> ast.Module:
    return ast.parse(source_of(module).with_suffix(".pyi").read_text())


def is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def is_sunder(name: str) -> bool:
    """_name_: enum machinery, never a stub's business."""
    return len(name) > 2 and name[0] == name[-1] == "_" and name[1] != "_" and name[-2] != "_"


def stub_names(tree: ast.Module) -> dict[str, ast.stmt]:
    """Module-level names the stub declares (aliases such as `_Buffer = ...` excluded)."""
    names: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and not target.id.startswith("_"):
                    names[target.id] = node
    return names


def member_kind(node: ast.stmt) -> str:
    """'method', or 'data' for a property, a field or an enum member."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        decorators = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", "")
                      for d in node.decorator_list}
        # a property's setter (@name.setter) is the same data member
        return "data" if decorators & {"property", "setter", "deleter"} else "method"
    return "data"


def stub_members(cls: ast.ClassDef) -> dict[str, str]:
    """name -> kind of each member a stub class declares."""
    members: dict[str, str] = {}
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            members[node.name] = member_kind(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members[node.target.id] = "data"
        elif isinstance(node, ast.Assign):
            members.update((t.id, "data") for t in node.targets if isinstance(t, ast.Name))
    return members


def imported_names(module: str) -> set[str]:
    """Names bound by the .pyx's Python imports (`cimport` binds no Python name)."""
    text = source_of(module).read_text()
    names: set[str] = set()
    for match in re.finditer(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+(\([^)]*\)|[^\n]*)",
                             text, re.MULTILINE):
        for item in match.group(1).strip("()").split(","):
            words = item.split("#")[0].split()
            if words:
                names.add(words[-1].split(".")[0])
    return names


def runtime_public(module: str) -> set[str]:
    """The public names the module itself defines (not those it imports)."""
    mod = importlib.import_module(module)
    imported = imported_names(module)
    public = set()
    for name, value in vars(mod).items():
        if name.startswith("_") or name in imported or isinstance(value, types.ModuleType):
            continue
        if (isinstance(value, type) or inspect.isroutine(value)) and value.__module__ != module:
            continue
        public.add(name)
    return public


def runtime_members(cls: type) -> dict[str, str]:
    """name -> kind of the members a class defines itself, as a stub must list them."""
    members = {}
    for name in dir(cls):
        if name not in vars(cls) or is_sunder(name) or name.startswith("__pyx_") or (
                is_dunder(name) and name not in PROTOCOL_DUNDERS):
            continue
        raw = inspect.getattr_static(cls, name)
        members[name] = "method" if inspect.isroutine(raw) else "data"
    return members


def test_every_compiled_module_has_a_stub():
    assert {"httpool._request", "httpool._plan", "httpool.bench._server"} <= set(MODULES)
    missing = [m for m in MODULES if not source_of(m).with_suffix(".pyi").exists()]
    assert not missing, f"compiled modules without a .pyi: {missing}"


@pytest.mark.parametrize("module", MODULES)
def test_stub_names_exist_at_runtime(module):
    mod = importlib.import_module(module)
    declared = stub_names(stub_of(module))
    missing = sorted(name for name in declared if not hasattr(mod, name))
    assert not missing, f"{module}.pyi declares names the module lacks: {missing}"
    for name, node in declared.items():
        if isinstance(node, ast.ClassDef):
            assert isinstance(getattr(mod, name), type), f"{module}.{name} is not a class"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert callable(getattr(mod, name)), f"{module}.{name} is not callable"


@pytest.mark.parametrize("module", MODULES)
def test_runtime_names_are_in_stub(module):
    undeclared = sorted(runtime_public(module) - set(stub_names(stub_of(module))))
    assert not undeclared, f"{module} defines public names its .pyi lacks: {undeclared}"


@pytest.mark.parametrize("module", MODULES)
def test_class_members_match(module):
    mod = importlib.import_module(module)
    problems = []
    for name, node in stub_names(stub_of(module)).items():
        cls = getattr(mod, name, None)
        if not isinstance(node, ast.ClassDef) or cls is None:
            continue   # a missing class fails test_stub_names_exist_at_runtime
        declared = stub_members(node)
        actual = runtime_members(cls)
        for member, kind in declared.items():
            if not hasattr(cls, member):
                problems.append(f"{name}.{member} is in the stub, not at runtime")
            elif member in actual and actual[member] != kind:
                problems.append(f"{name}.{member} is a {actual[member]} at runtime, "
                                f"a {kind} in the stub")
        problems += [f"{name}.{member} ({kind}) is at runtime, not in the stub"
                     for member, kind in actual.items() if member not in declared]
    assert not problems, f"{module}.pyi:\n" + "\n".join(problems)


def test_member_checks_see_cdef_class_members():
    """The runtime side of the comparison finds def, cpdef, properties and
    readonly/public fields of a cdef class, and skips Cython's internals."""
    from httpool._idle import PoolCore
    from httpool._request import Client

    core = runtime_members(PoolCore)
    assert core["origins"] == core["checkin"] == "method"   # def, cpdef
    assert core["waiting"] == core["open_total"] == core["debug"] == "data"
    assert "_origins" not in core and "__reduce_cython__" not in core
    assert runtime_members(Client)["_setup"] == "method"
    assert runtime_members(httpool.Response)["__enter__"] == "method"


def test_py_typed_is_shipped():
    tomllib = pytest.importorskip("tomllib")
    assert (PACKAGE / "py.typed").is_file()
    package_data = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["httpool"]
    assert "*.pyi" in package_data["httpool"]
    assert "*.pyi" in package_data["httpool.bench"]

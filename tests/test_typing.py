"""The types are precise and checked: mypy, stubtest and ruff, as subprocesses.

- ``mypy`` (its settings in pyproject.toml: --strict and more) on the package:
  its Python modules and the .pyi stubs of its compiled modules.
- ``mypy --strict --disallow-any-expr`` on tests/typing_program.py, a user's
  program that touches the whole public API: no expression in it is Any. The
  program also runs here, against a local server.
- mypy on a snippet of typical mistakes (``r.statuscode``, ``timeout="soon"``):
  each marked line must be rejected with the error code it names, and no other.
- ``stubtest httpool``: the stubs match what the compiled modules have at run
  time, less the Cython noise of tests/stubtest_allowlist.txt.
- ``ruff check`` (its rules in pyproject.toml).

Each tool runs with a time limit (TIMEOUT; each takes seconds) and mypy caches
into a temporary directory, never into the repository. A tool that is not
installed skips its test with a message; the test extra installs them all.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "tests" / "typing_program.py"
ALLOWLIST = ROOT / "tests" / "stubtest_allowlist.txt"
ALLOWLIST_PY313 = ROOT / "tests" / "stubtest_allowlist_py313.txt"

# Seconds each tool may take. Measured with a cold cache on a busy 2-CPU
# machine: mypy on the package 4 to 8 s, on the program 4 to 7 s (then the
# snippet, sharing its cache, under 1 s), stubtest 6 to 15 s, ruff 0.3 s.
TIMEOUT = 180

# How a user runs mypy on their own program: no project configuration, the
# strictest flags. MYPYPATH makes it read this checkout's package and stubs.
# disallow-any-expr is set in the checked file itself (`# mypy:` comment): on
# the command line it would also apply to httpool's own modules, which mypy
# reads as the user's code when the package is installed from a wheel rather
# than in editable mode.
USER_MYPY = ["--config-file=", "--strict", "--show-error-codes", "--no-color-output",
             "--no-error-summary"]


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{what} is not installed (pip install -e '.[test]' installs it)")


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `python -m <args>` from the repository root within TIMEOUT."""
    env = {**os.environ, "MYPYPATH": str(ROOT / "src"), "NO_COLOR": "1"}
    env.pop("MYPY_CACHE_DIR", None)
    started = time.perf_counter()
    try:
        result = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(args[:2])} took more than {TIMEOUT} s")
    elapsed = time.perf_counter() - started
    print(f"{' '.join(args[:2])}: {elapsed:.1f} s")
    return result


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit status {result.returncode}\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mypy's cache for the runs with the user's flags (shared by two tests)."""
    return tmp_path_factory.mktemp("mypy-cache")


def test_mypy_strict_on_the_package(tmp_path: Path) -> None:
    _require("mypy", "mypy")
    result = _run(["mypy", "--cache-dir", str(tmp_path), "--no-color-output"])
    assert result.returncode == 0, _output(result)
    assert result.stdout.startswith("Success: no issues found"), _output(result)


def test_user_program_has_no_any(cache: Path) -> None:
    _require("mypy", "mypy")
    result = _run(["mypy", *USER_MYPY, "--cache-dir", str(cache), str(PROGRAM)])
    assert result.returncode == 0, _output(result)


# Mistakes a user makes; each `# E: code` line must be an error with that code.
TYPOS = '''# mypy: disallow-any-expr
import httpool

pool = httpool.Pool()
r = pool.get("http://example.com/")
r.statuscode  # E: attr-defined
pool.get("http://example.com/", timeout="soon")  # E: arg-type
pool.get("http://example.com/", verify=False)  # E: call-arg
pool.post("http://example.com/", json={1, 2})  # E: arg-type
pool.post("http://example.com/", body=123)  # E: arg-type
pool.get("http://example.com/", headers={"X-Count": 1})  # E: arg-type
pool.get("http://example.com/", params="q=1")  # E: arg-type
httpool.Timeout(total="5")  # E: arg-type
httpool.Pool(verify=1.5)  # E: arg-type
httpool.Pool(cert=("cert.pem",))  # E: arg-type
pool.stats().origins["http://example.com:80"].opend  # E: attr-defined
pool.request_many([("GET", "http://example.com/")])[0].statuscode  # E: attr-defined
pool.request_many([("GET", "http://example.com/")], return_exceptions=True)[0].status_code  # E: union-attr
pool.request_many([("GET",)])  # E: list-item
pool.request_many([("GET", "http://example.com/", {"jsn": 1})])  # E: typeddict-unknown-key
for item in pool.iter_many([("GET", "http://example.com/")], return_exceptions=True):
    item.content  # E: union-attr
r.json()["key"]  # E: index
r.headers["X-Count"] + 1  # E: operator
with pool.stream("GET", "http://example.com/") as s:
    s.iter_bytes(chunk="64")  # E: call-arg
'''


def test_typos_are_rejected(tmp_path: Path, cache: Path) -> None:
    _require("mypy", "mypy")
    snippet = tmp_path / "typos.py"
    snippet.write_text(TYPOS)
    expected = {number: set(re.findall(r"# E: ([\w-]+)", line))
                for number, line in enumerate(TYPOS.splitlines(), 1) if "# E:" in line}
    result = _run(["mypy", *USER_MYPY, "--cache-dir", str(cache), str(snippet)])
    assert result.returncode == 1, _output(result)
    found: dict[int, set[str]] = {}
    for match in re.finditer(r"^.*typos\.py:(\d+): error: .*\[([\w-]+)\]$", result.stdout, re.MULTILINE):
        found.setdefault(int(match.group(1)), set()).add(match.group(2))
    missed = {n: codes - found.get(n, set()) for n, codes in expected.items() if codes - found.get(n, set())}
    unexpected = {n: codes for n, codes in found.items() if n not in expected}
    assert not missed and not unexpected, (
        f"lines without their expected error: {missed}\nerrors on lines not marked: {unexpected}\n"
        + _output(result))


def test_typing_program_runs(tmp_path: Path) -> None:
    """The program's types are those of the values: it runs, and its
    assert_type() calls are no-ops at run time."""
    trustme = pytest.importorskip("trustme")
    if sys.version_info < (3, 11):
        pytest.importorskip("typing_extensions")
    import typing_program

    from support.servers import ScriptedServer, echo

    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    with ScriptedServer(echo) as server:
        typing_program.main(server.url, ca_file)


def test_stubtest() -> None:
    _require("mypy", "mypy (stubtest)")
    allowlists = [ALLOWLIST, *([ALLOWLIST_PY313] if sys.version_info >= (3, 13) else [])]
    result = _run(["mypy.stubtest", "httpool", "--mypy-config-file", str(ROOT / "pyproject.toml"),
                   *(arg for path in allowlists for arg in ("--allowlist", str(path)))])
    assert result.returncode == 0, _output(result)


def test_ruff() -> None:
    _require("ruff", "ruff")
    result = _run(["ruff", "check", "--no-cache", "--output-format", "concise", str(ROOT)])
    assert result.returncode == 0, _output(result)


def test_typos_snippet_is_valid_python() -> None:
    """The snippet fails for its types, not its syntax."""
    compile(textwrap.dedent(TYPOS), "typos.py", "exec")

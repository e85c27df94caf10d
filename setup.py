"""Build of httpool's compiled modules.

llhttp's C sources are not part of this repository: the build takes them from
the `llhttp` sdist on the package index (a pinned version, checked by sha256)
and compiles them into the parser extension. To build offline, set
HTTPOOL_LLHTTP_SRC to that sdist (llhttp-9.3.0.0.tar.gz, checked by the same
hash), to the folder it unpacks to, or to a folder holding llhttp.h, api.c,
http.c and llhttp.c.

The build is portable by default: on x86-64 it targets x86-64-v2 (every x86-64
CPU since about 2009; it includes SSE4.2, which llhttp's header scanning keys
on with `#ifdef __SSE4_2__`), elsewhere the compiler's default baseline. Debug
information is not kept, and the extensions compile in parallel.

Switches (environment variables):
  HTTPOOL_NATIVE=1     -march=native: for this machine's CPU only (the result
                       may crash with SIGILL on another one; never for wheels)
  HTTPOOL_DEBUG=1      -O0 -g, Cython bounds checks on, assertions kept
  HTTPOOL_ANNOTATE=1   write Cython's HTML annotation next to each .pyx
  HTTPOOL_BUILD_QUIET=1  no progress lines on the terminal (see _say)
"""

import hashlib
import os
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

if not sys.platform.startswith("linux"):
    sys.exit("httpool builds on Linux only: it relies on epoll and Linux socket options.")

from Cython.Build import cythonize  # noqa: E402  (after the platform check)

LLHTTP_VERSION = "9.3.0.0"
LLHTTP_SHA256 = "0d989363e7fb6f270b9d49956e7a3945c26778f8c70a166815264309ac6a8295"
LLHTTP_FILES = ("llhttp.h", "api.c", "http.c", "llhttp.c")
HERE = Path(__file__).resolve().parent
DEBUG = os.environ.get("HTTPOOL_DEBUG") == "1"
NATIVE = os.environ.get("HTTPOOL_NATIVE") == "1"
MACHINE = sysconfig.get_platform().rsplit("-", 1)[-1]  # "x86_64", "aarch64", ...

# x86-64-v2: CMPXCHG16B, LAHF/SAHF, POPCNT, SSE3, SSSE3, SSE4.1, SSE4.2. The
# fallback spells the same set out for compilers older than GCC 11 / Clang 12,
# which do not know the level's name.
X86_64_V2 = (["-march=x86-64-v2", "-mtune=generic"],
             ["-mcx16", "-msahf", "-mpopcnt", "-msse4.2", "-mtune=generic"])


def _say(message: str) -> None:
    """One progress line of the build, to stderr and to the terminal.

    pip runs the build in a subprocess and keeps its output (shown with -v or
    on failure), so a plain `pip install` would show none of it and look hung
    during the download and the compile. When stderr is not a terminal, the
    line also goes to the controlling terminal (/dev/tty) if there is one; in
    CI there is none and nothing more happens. HTTPOOL_BUILD_QUIET=1 turns the
    terminal copy off.
    """
    line = f"httpool build: {message}"
    print(line, file=sys.stderr, flush=True)
    if os.environ.get("HTTPOOL_BUILD_QUIET") == "1" or sys.stderr.isatty():
        return
    global _tty_lines
    try:
        with open("/dev/tty", "w") as tty:
            # The first line starts below pip's "Building ... ..." line; the
            # others first clear what pip's spinner drew since the last one.
            tty.write(f"{'' if _tty_lines else chr(10)}\r\033[K{line}\n")
            _tty_lines += 1
    except OSError:
        pass


_tty_lines = 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_and_unpack(archive: Path, build_dir: Path, downloaded: bool) -> Path:
    """Check the sdist's hash, extract its four C files, return their folder."""
    _say(f"checking the sha256 of {archive.name}")
    found = _sha256(archive)
    if found != LLHTTP_SHA256:
        if downloaded:
            archive.unlink()
        sys.exit(
            f"httpool: {archive} has sha256 {found}, expected {LLHTTP_SHA256} "
            f"(llhttp-{LLHTTP_VERSION}.tar.gz from the package index). A download is removed; "
            "build again, and if the hash still differs, the file on the index is not the one "
            "httpool was checked against.")
    # Only the four named regular files are extracted; "data" refuses anything odd.
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(archive) as tar:
        for name in LLHTTP_FILES:
            tar.extract(tar.getmember(f"llhttp-{LLHTTP_VERSION}/lib/{name}"), build_dir, **safe)
    _say(f"sha256 matches; llhttp's C sources unpacked in {build_dir / f'llhttp-{LLHTTP_VERSION}' / 'lib'}")
    return build_dir / f"llhttp-{LLHTTP_VERSION}" / "lib"


def _fetch_llhttp(build_dir: Path) -> Path:
    """Download, check and unpack the llhttp sdist; return its C source folder."""
    unpacked = build_dir / f"llhttp-{LLHTTP_VERSION}" / "lib"
    archive = build_dir / f"llhttp-{LLHTTP_VERSION}.tar.gz"
    if all((unpacked / name).is_file() for name in LLHTTP_FILES) and archive.is_file() \
            and _sha256(archive) == LLHTTP_SHA256:
        _say(f"llhttp {LLHTTP_VERSION}'s C sources: {unpacked} (already fetched, sha256 checked)")
        return unpacked
    build_dir.mkdir(parents=True, exist_ok=True)
    if not archive.is_file():
        _say(f"fetching the llhttp=={LLHTTP_VERSION} sdist from the package index (pip download)")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   "--dest", str(build_dir), f"llhttp=={LLHTTP_VERSION}"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not archive.is_file():
            sys.exit(
                f"httpool: could not download the llhttp=={LLHTTP_VERSION} sdist:\n"
                f"{result.stdout}{result.stderr}\n"
                "Check that the package index is reachable, or download the sdist "
                "yourself and set HTTPOOL_LLHTTP_SRC to it (or to the folder it unpacks to).")
    return _check_and_unpack(archive, build_dir, downloaded=True)


def llhttp_source_dir() -> Path:
    override = os.environ.get("HTTPOOL_LLHTTP_SRC")
    if not override:
        return _fetch_llhttp(HERE / "build" / "llhttp")
    given = Path(override)
    if given.is_file():  # the sdist itself: checked by hash like a download
        return _check_and_unpack(given, HERE / "build" / "llhttp-offline", downloaded=False)
    for folder in (given, given / "lib"):  # the four files, or the unpacked sdist
        if all((folder / name).is_file() for name in LLHTTP_FILES):
            _say(f"llhttp's C sources from HTTPOOL_LLHTTP_SRC: {folder} (not hash-checked)")
            return folder
    missing = [name for name in LLHTTP_FILES if not (given / name).is_file()]
    sys.exit(f"httpool: HTTPOOL_LLHTTP_SRC={override} is neither llhttp-{LLHTTP_VERSION}.tar.gz "
             f"nor a folder with {', '.join(LLHTTP_FILES)} (lacks {', '.join(missing)}).")


class BuildExt(build_ext):
    """Adds llhttp's sources to the parser extension, picks the target CPU
    flags, compiles the extensions in parallel and says what it is doing."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:  # `--parallel`/-j given on the command line wins
            self.parallel = max(1, min(os.cpu_count() or 1, 8))

    def _accepts(self, flags: list) -> bool:
        """Whether the C compiler takes these flags (compiles a one-line probe)."""
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp, "probe.c")
            probe.write_text("int httpool_probe(int x) { return x + 1; }\n")
            try:
                self.compiler.compile([str(probe)], output_dir=tmp, extra_postargs=flags)
            except Exception:
                return False
        return True

    def _target_flags(self) -> tuple:
        """(compile flags, what they mean) for the CPU the extensions target."""
        if NATIVE:
            return ["-march=native"], "this machine's CPU (-march=native, HTTPOOL_NATIVE=1)"
        if MACHINE == "x86_64":
            for flags in X86_64_V2:
                if self._accepts(flags):
                    return flags, f"x86-64-v2 ({' '.join(flags)})"
            sys.exit("httpool: the C compiler accepts neither -march=x86-64-v2 nor -msse4.2.")
        return [], f"{MACHINE}, the compiler's default baseline"

    def build_extensions(self):
        if os.environ.get("HTTPOOL_PORTABLE"):
            _say("HTTPOOL_PORTABLE is gone: builds are portable by default "
                 "(HTTPOOL_NATIVE=1 builds for this CPU)")
        llhttp_dir = llhttp_source_dir()
        target, described = self._target_flags()
        optimise = ["-O0", "-g"] if DEBUG else ["-O3", "-g0"]  # -g0 undoes Python's -g
        for ext in self.extensions:
            if ext.name == "httpool._parser":
                ext.sources += [str(llhttp_dir / name) for name in LLHTTP_FILES if name.endswith(".c")]
            ext.include_dirs.append(str(llhttp_dir))
            ext.extra_compile_args = [*optimise, *target, *ext.extra_compile_args]
            if not DEBUG:
                ext.extra_link_args = ["-Wl,--strip-debug", *ext.extra_link_args]
        # The CPU and debug flags are not among the files setuptools compares
        # to decide that a module is up to date: when they change, rebuild all.
        stamp = HERE / "build" / f"httpool-flags{sysconfig.get_config_var('EXT_SUFFIX')}.txt"
        flags = " ".join([*optimise, *target, "" if DEBUG else "-Wl,--strip-debug"]).strip()
        if not stamp.is_file() or stamp.read_text() != flags:
            self.force = True
        self._done = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        _say(f"compiling {len(self.extensions)} extension modules for {described}, "
             f"{'debug build (-O0 -g)' if DEBUG else '-O3, no debug info'}, "
             f"{self.parallel} at a time; this takes a minute or two")
        super().build_extensions()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(flags)
        _say(f"compiled {len(self.extensions)} extension modules in "
             f"{time.monotonic() - self._started:.0f} s")

    def build_extension(self, ext):
        super().build_extension(ext)
        with self._lock:
            self._done += 1
            done = self._done
        _say(f"[{done}/{len(self.extensions)}] {ext.name} "
             f"({time.monotonic() - self._started:.0f} s)")


def extension(name: str) -> Extension:
    """httpool.<name> (dotted for a subpackage), built from its .pyx under src/httpool/."""
    return Extension(
        f"httpool.{name}",
        [f"src/httpool/{name.replace('.', '/')}.pyx"],
        include_dirs=["csrc"],
        depends=[str(header.relative_to(HERE)) for header in sorted((HERE / "csrc").glob("*.h"))],
    )


MODULES = ("_reasons", "_parser", "_conn", "_tls", "_idle", "_plan", "_exchange", "_blocking",
           "_response", "_request", "_batch", "_async", "bench._server")


def _say_if_cythonizing() -> None:
    """Cython's translation (each setup.py run does it when something
    changed; pip runs setup.py several times) takes a while from a clean
    checkout: say so. A .c older than its .pyx or than any .pxd counts."""
    package = HERE / "src" / "httpool"
    newest_pxd = max((p.stat().st_mtime for p in package.rglob("*.pxd")), default=0.0)
    stale = 0
    for name in MODULES:
        pyx = package / f"{name.replace('.', '/')}.pyx"
        c_file = pyx.with_suffix(".c")
        if not c_file.exists() or c_file.stat().st_mtime < max(pyx.stat().st_mtime, newest_pxd):
            stale += 1
    if stale:
        import Cython
        _say(f"Cython {Cython.__version__}: translating {stale} of {len(MODULES)} modules to C")


directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}

_say_if_cythonizing()
setup(
    ext_modules=cythonize(
        [extension(name) for name in MODULES],
        compiler_directives=directives,
        annotate=os.environ.get("HTTPOOL_ANNOTATE") == "1",
        include_path=["src"],
    ),
    cmdclass={"build_ext": BuildExt},
)

"""Build of httpool's compiled modules.

llhttp's C sources are not part of this repository: the build takes them from
the `llhttp` sdist on the package index (a pinned version, checked by sha256)
and compiles them into the parser extension. Set HTTPOOL_LLHTTP_SRC to a folder
holding llhttp.h, api.c, http.c and llhttp.c to build offline.

Developer switches (environment variables):
  HTTPOOL_ANNOTATE=1   write Cython's HTML annotation next to each .pyx
  HTTPOOL_DEBUG=1      -O0 -g, Cython bounds checks on, assertions kept
  HTTPOOL_PORTABLE=1   build for any x86-64, not for this machine's CPU
                       (-march=native otherwise), for wheels that run elsewhere
"""

import hashlib
import os
import platform
import subprocess
import sys
import tarfile
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
PORTABLE = os.environ.get("HTTPOOL_PORTABLE") == "1"


# Compiled for the build machine's CPU: llhttp then scans header bytes with
# SSE4.2 string instructions, and the compiler may use the rest (measured here:
# about a quarter fewer instructions per parsed response). HTTPOOL_PORTABLE=1
# builds for any x86-64, for wheels that run elsewhere.
NATIVE = [] if PORTABLE or platform.machine() != "x86_64" else ["-march=native"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_llhttp(build_dir: Path) -> Path:
    """Download, check and unpack the llhttp sdist; return its C source folder."""
    unpacked = build_dir / f"llhttp-{LLHTTP_VERSION}" / "lib"
    if all((unpacked / name).is_file() for name in LLHTTP_FILES):
        return unpacked
    build_dir.mkdir(parents=True, exist_ok=True)
    archive = build_dir / f"llhttp-{LLHTTP_VERSION}.tar.gz"
    if not archive.is_file():
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   "--dest", str(build_dir), f"llhttp=={LLHTTP_VERSION}"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not archive.is_file():
            sys.exit(
                f"httpool: could not download the llhttp=={LLHTTP_VERSION} sdist:\n"
                f"{result.stdout}{result.stderr}\n"
                "Check that the package index is reachable, or download the sdist "
                "yourself, unpack it and set HTTPOOL_LLHTTP_SRC to its lib/ folder.")
    found = _sha256(archive)
    if found != LLHTTP_SHA256:
        archive.unlink()
        sys.exit(
            f"httpool: llhttp-{LLHTTP_VERSION}.tar.gz has sha256 {found}, expected "
            f"{LLHTTP_SHA256}. The download was removed; build again, and if the hash "
            "still differs, the file on the index is not the one httpool was checked against.")
    # Only the four named regular files are extracted; "data" refuses anything odd.
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(archive) as tar:
        for name in LLHTTP_FILES:
            tar.extract(tar.getmember(f"llhttp-{LLHTTP_VERSION}/lib/{name}"), build_dir, **safe)
    return unpacked


def llhttp_source_dir() -> Path:
    override = os.environ.get("HTTPOOL_LLHTTP_SRC")
    if override:
        folder = Path(override)
        missing = [name for name in LLHTTP_FILES if not (folder / name).is_file()]
        if missing:
            sys.exit(f"httpool: HTTPOOL_LLHTTP_SRC={override} lacks {', '.join(missing)}.")
        return folder
    return _fetch_llhttp(HERE / "build" / "llhttp")


class BuildExt(build_ext):
    """Adds llhttp's sources to the parser extension before compiling."""

    def build_extensions(self):
        llhttp_dir = llhttp_source_dir()
        for ext in self.extensions:
            if ext.name == "httpool._parser":
                ext.sources += [str(llhttp_dir / name) for name in LLHTTP_FILES if name.endswith(".c")]
            ext.include_dirs.append(str(llhttp_dir))
        super().build_extensions()


def extension(name: str) -> Extension:
    """httpool.<name> (dotted for a subpackage), built from its .pyx under src/httpool/."""
    return Extension(
        f"httpool.{name}",
        [f"src/httpool/{name.replace('.', '/')}.pyx"],
        include_dirs=["csrc"],
        depends=[str(header.relative_to(HERE)) for header in sorted((HERE / "csrc").glob("*.h"))],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3", *NATIVE],
    )


directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}

setup(
    ext_modules=cythonize(
        [extension(name) for name in ("_reasons", "_parser", "_conn", "_tls", "_idle", "_plan", "_exchange",
                                      "_blocking", "_response", "_request", "_batch", "bench._server")],
        compiler_directives=directives,
        annotate=os.environ.get("HTTPOOL_ANNOTATE") == "1",
        include_path=["src"],
    ),
    cmdclass={"build_ext": BuildExt},
)

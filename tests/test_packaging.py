"""What the build produced is fit to ship.

* The compiled modules use no instruction beyond the build's baseline
  (x86-64-v2 on x86-64), so a wheel cannot die with SIGILL on an older CPU,
  and llhttp's SSE4.2 scanning is still in them.
* They carry no debug information (unless built with HTTPOOL_DEBUG=1).
* The licence files are in the installed distribution's metadata.
* `.ci/wheel-smoke` (marked ``wheel``; ``-m "not wheel"`` leaves it out):
  sdist, offline wheel, auditwheel, install with no compiler, smoke test.

The instruction checks read ``objdump -d`` (binutils) and skip, saying so,
when objdump is missing or the machine is not x86-64.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import httpool

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(httpool.__file__).resolve().parent
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")
OBJDUMP = shutil.which("objdump")
X86_64 = platform.machine() in ("x86_64", "AMD64") and sys.maxsize > 2**32

needs_objdump = pytest.mark.skipif(OBJDUMP is None, reason="objdump (binutils) is not installed")
needs_x86_64 = pytest.mark.skipif(not X86_64, reason="the instruction-set check covers x86-64 only")


def extension_modules() -> list[Path]:
    """The installed compiled modules of this interpreter (an in-place build
    may also hold other Pythons' modules, which are not what was imported)."""
    return sorted(PACKAGE.rglob("*" + EXT_SUFFIX))


# --- The x86-64-v2 check --------------------------------------------------

# Legacy prefixes that may precede an opcode: segment overrides, operand and
# address size, LOCK, REP/REPNE.
_LEGACY_PREFIXES = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3}
# Prefix words objdump prints before a mnemonic.
_PRINTED_PREFIXES = {"lock", "rep", "repz", "repe", "repnz", "repne", "data16", "addr32", "notrack",
                     "bnd", "cs", "ds", "es", "fs", "gs", "ss", "rex", "rex.w", "xacquire", "xrelease"}
# Instructions without a VEX/EVEX encoding that x86-64-v2 CPUs may lack, with
# the feature each needs. (tzcnt is not here: it is `rep bsf`, which every
# x86-64 CPU runs as bsf, and compilers emit it only where both agree.)
_BEYOND_V2_MNEMONICS = {
    "lzcnt": "LZCNT (x86-64-v3; an older CPU silently runs it as bsr)",
    "movbe": "MOVBE (x86-64-v3)",
    "prefetchw": "PRFCHW (x86-64-v3)",
    "adcx": "ADX", "adox": "ADX",
    "aesenc": "AES-NI", "aesenclast": "AES-NI", "aesdec": "AES-NI", "aesdeclast": "AES-NI",
    "aesimc": "AES-NI", "aeskeygenassist": "AES-NI",
    "pclmulqdq": "PCLMULQDQ",
    "rdrand": "RDRAND", "rdseed": "RDSEED",
    "clflushopt": "CLFLUSHOPT", "clwb": "CLWB",
}
_BEYOND_V2_PREFIXES = {"sha1": "SHA", "sha256": "SHA", "gf2p8": "GFNI"}
_WIDE_REGISTER = re.compile(r"%(?:[yz]mm\d+|k[0-7]\b)")


def beyond_x86_64_v2(raw: bytes, text: str) -> str | None:
    """Why one decoded instruction needs more than x86-64-v2, or None.

    ``raw`` is its encoding, ``text`` objdump's AT&T rendering. In 64-bit
    mode an opcode byte C4 or C5 after the legacy prefixes can only start a
    VEX prefix, 62 an EVEX prefix, and 8F with a non-zero ModRM reg field
    an XOP prefix: every AVX, AVX2, FMA, F16C, BMI1/BMI2 (andn, bextr, blsr,
    bzhi, mulx, pdep, pext, rorx, sarx, shlx, shrx...), AVX-512 and XOP
    instruction is encoded so, none of x86-64-v2 is. That test is exact
    where mnemonic lists are not (VEX forms of SSE instructions such as
    ``vpxor %xmm0,%xmm0,%xmm0`` use no ymm register). ymm, zmm and mask
    registers are reported for clarity, and a short list names the non-VEX
    instructions of later extensions that a compiler can emit (lzcnt and
    movbe of x86-64-v3, AES-NI, PCLMULQDQ, SHA, GFNI, ADX, RDRAND...).
    """
    i = 0
    while i < len(raw) and raw[i] in _LEGACY_PREFIXES:
        i += 1
    opcode = raw[i] if i < len(raw) else None
    if opcode in (0xC4, 0xC5):
        reason = "VEX-encoded (AVX, AVX2, FMA, F16C or BMI)"
    elif opcode == 0x62:
        reason = "EVEX-encoded (AVX-512)"
    elif opcode == 0x8F and i + 1 < len(raw) and (raw[i + 1] >> 3) & 7:
        reason = "XOP-encoded (AMD XOP)"
    else:
        reason = None
    wide = _WIDE_REGISTER.search(text)
    if wide:
        return f"{reason}, uses {wide.group()}" if reason else f"uses {wide.group()}"
    if reason:
        return reason
    words = text.split()
    while words and words[0] in _PRINTED_PREFIXES:
        words = words[1:]
    mnemonic = words[0] if words else ""
    if mnemonic in _BEYOND_V2_MNEMONICS:
        return _BEYOND_V2_MNEMONICS[mnemonic]
    for prefix, feature in _BEYOND_V2_PREFIXES.items():
        if mnemonic.startswith(prefix):
            return feature
    return None


_FUNCTION = re.compile(r"^[0-9a-f]+ <(.+)>:$")
_INSTRUCTION = re.compile(r"^\s*[0-9a-f]+:\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$")


def disassemble(path: Path) -> list[tuple[str, bytes, str]]:
    """(function, encoding, text) of every instruction of every executable
    section, from ``objdump -d -w`` (one line per instruction, raw bytes
    included)."""
    assert OBJDUMP is not None
    out = subprocess.run([OBJDUMP, "-d", "-w", str(path)], capture_output=True, text=True,
                         check=True).stdout
    found, function = [], "?"
    for line in out.splitlines():
        header = _FUNCTION.match(line)
        if header:
            function = header.group(1)
            continue
        insn = _INSTRUCTION.match(line)
        if insn and insn.group(2).strip() and not insn.group(2).startswith("(bad)"):
            found.append((function, bytes.fromhex(insn.group(1).replace(" ", "")), insn.group(2)))
    return found


def offences(path: Path) -> list[str]:
    return [f"{path.name}: {function}: {text.strip()}  [{raw.hex(' ')}]: {reason}"
            for function, raw, text in disassemble(path)
            if (reason := beyond_x86_64_v2(raw, text))]


@needs_objdump
@needs_x86_64
def test_extensions_use_nothing_beyond_x86_64_v2() -> None:
    modules = extension_modules()
    assert len(modules) >= 12, f"expected httpool's 12 compiled modules under {PACKAGE}: {modules}"
    found = [offence for module in modules for offence in offences(module)]
    assert not found, (
        f"{len(found)} instructions beyond x86-64-v2 (built with HTTPOOL_NATIVE=1? that build "
        f"is for this machine only); the first ones:\n" + "\n".join(found[:40]))


@needs_objdump
@needs_x86_64
def test_llhttp_keeps_its_sse42_path() -> None:
    """llhttp scans header values 16 bytes at a time with SSE4.2's pcmpestri
    when __SSE4_2__ is defined, which x86-64-v2 does (vpcmpestri is its VEX
    form, in an HTTPOOL_NATIVE=1 build on an AVX machine)."""
    (parser,) = [m for m in extension_modules() if m.name.startswith("_parser.")]
    mnemonics = {text.split()[0] for _, _, text in disassemble(parser)}
    assert mnemonics & {"pcmpestri", "vpcmpestri"}, "llhttp was built without __SSE4_2__"


def _compile(tmp_path: Path, source: str, flags: list[str]) -> Path:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) to build the check's own samples")
    c_file = tmp_path / "sample.c"
    c_file.write_text(source)
    obj = tmp_path / f"sample{len(list(tmp_path.iterdir()))}.o"
    subprocess.run([compiler, "-O3", "-c", *flags, str(c_file), "-o", str(obj)], check=True)
    return obj


_SAMPLE = """
#include <stddef.h>
void scale(float *restrict a, const float *restrict b, size_t n)
{ for (size_t i = 0; i < n; i++) a[i] = a[i] * b[i] + 1.0f; }
unsigned low(unsigned long long x) { return x ? (unsigned)__builtin_ctzll(x) : 64; }
unsigned high(unsigned long long x) { return x ? (unsigned)__builtin_clzll(x) : 64; }
unsigned bits(unsigned long long x) { return (unsigned)__builtin_popcountll(x); }
unsigned crc(unsigned c, unsigned v) { return __builtin_ia32_crc32si(c, v); }
"""


@needs_objdump
@needs_x86_64
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["-march=x86-64-v2"], set()),
        (["-march=x86-64-v2", "-mavx2", "-mfma"], {"VEX"}),
        (["-march=x86-64-v2", "-mlzcnt"], {"LZCNT"}),
        (["-march=x86-64-v2", "-mavx512f", "-mprefer-vector-width=512"], {"EVEX", "zmm"}),
    ],
    ids=["v2-clean", "avx2-fma", "lzcnt", "avx512"],
)
def test_the_check_itself(tmp_path: Path, flags: list[str], expected: set[str]) -> None:
    """The check passes x86-64-v2 code (SSE4.2 crc32, popcnt, tzcnt-as-bsf)
    and catches AVX2/FMA, lzcnt and AVX-512 in the same C code."""
    found = offences(_compile(tmp_path, _SAMPLE, flags))
    if not expected:
        assert not found, found
    else:
        joined = "\n".join(found)
        assert found and all(word in joined for word in expected), joined


# --- Debug information and licences ----------------------------------------


@needs_objdump
def test_no_debug_info() -> None:
    """Release builds keep no DWARF (-g0, linked with --strip-debug); the
    symbol table stays, for profilers. An HTTPOOL_DEBUG=1 build (-O0 -g),
    recognised by the -O0 in DWARF's producer string, is left alone."""
    with_debug = []
    for module in extension_modules():
        sections = subprocess.run([OBJDUMP, "-h", str(module)], capture_output=True, text=True,
                                  check=True).stdout
        if ".debug_info" not in sections:
            continue
        producer = subprocess.run([OBJDUMP, "--dwarf=info", str(module)], capture_output=True,
                                  text=True).stdout
        if re.search(r"DW_AT_producer.*\s-O0\b", producer):
            pytest.skip(f"{module.name} is an HTTPOOL_DEBUG=1 build")
        with_debug.append(module.name)
    assert not with_debug, f"debug information in {with_debug}"


def test_licence_files_in_the_metadata() -> None:
    declared = importlib.metadata.metadata("httpool").get_all("License-File") or []
    assert {"LICENSE", "LICENSES/llhttp-LICENSE-MIT", "LICENSES/pyllhttp-LICENSE"} <= set(declared)
    assert importlib.metadata.metadata("httpool")["License-Expression"] == "MIT"


# --- The wheel, end to end -------------------------------------------------


@pytest.mark.wheel
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="httpool builds on Linux only")
def test_wheel_smoke(tmp_path: Path) -> None:
    """.ci/wheel-smoke: sdist, wheel built offline from it, auditwheel,
    install with no compiler, .ci/smoke.py (about two minutes here)."""
    script = ROOT / ".ci" / "wheel-smoke"
    if not script.is_file():
        pytest.skip(f"{script} is not here (not a source checkout or sdist)")
    env = {k: v for k, v in os.environ.items() if k not in ("HTTPOOL_NATIVE", "HTTPOOL_DEBUG")}
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "work")], env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    assert "smoke: ok" in result.stdout

"""tmem_abi.h against the model's layouts, checked by the compiler (TMEM-LAYOUT-001).

For every version and word size of models.layouts.layouts_table(), a C
file of _Static_asserts pins each sizeof and offsetof: the native structs
compiled with -m64 (64-bit guests) and -m32 (32-bit guests), the compat
structs with -m64 and -m32 (32-bit guests on any host). Each message names
the field, version, word size and the model's value; when one fails, a
probe compile reads the compiler's value so the failure shows both.
-m32 needs gcc-multilib: without it the test fails, it never skips.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tmem_conformance.models.layouts import header_name, layouts_table
from tmem_conformance.models.versions import VERSIONS

CTMEM = Path(__file__).resolve().parents[1] / "candidates" / "ctmem"
MULTILIB = "install gcc-multilib (apt-get update && apt-get install -y gcc-multilib) so gcc -m32 works"


@dataclass(frozen=True)
class Check:
    version: str
    word_size: int
    what: str  # "sizeof(tmem_op)" or a canonical field name
    c_expr: str
    expected: int

    def message(self, flavour: str) -> str:
        return (f"TMEM-LAYOUT-001: {self.version} {self.word_size}-bit ({flavour}): {self.what} is "
                f"{self.c_expr}, model says {self.expected}")


def _c_member(version: str, canonical: str) -> str:
    name = header_name(VERSIONS[version], canonical)
    return name if name in ("cmd", "pool_id") else f"u.{name}"


def checks(word_size: int, compat: bool) -> list[Check]:
    out = []
    for v, by_ws in layouts_table().items():
        table = by_ws[str(word_size)]
        prefix = "compat_" if compat else ""
        op, handle = f"struct {prefix}tmem_op_{v}", f"struct {prefix}tmem_handle_{v}"
        out.append(Check(v, word_size, "sizeof(tmem_op)", f"sizeof({op})", table["sizeof"]["tmem_op"]))
        out.append(Check(v, word_size, "sizeof(tmem_handle)", f"sizeof({handle})",
                         table["sizeof"]["tmem_handle"]))
        for field, offset in table["offsetof"].items():
            out.append(Check(v, word_size, f"offsetof({field})", f"offsetof({op}, {_c_member(v, field)})",
                             offset))
    return out


def source(items: list[Check], flavour: str) -> str:
    lines = ["#include <stddef.h>", '#include "tmem_abi.h"', ""]
    lines += [f'_Static_assert({c.c_expr} == {c.expected}, "{c.message(flavour)}");' for c in items]
    return "\n".join(lines) + "\n"


def gcc() -> str:
    path = shutil.which("gcc")
    if path is None:
        pytest.fail("gcc is needed to check tmem_abi.h against the model (apt-get install -y gcc)")
    return path


def compile_c(text: str, arch: str, tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{name}.c"
    path.write_text(text)
    cmd = [gcc(), arch, "-std=c11", "-Wall", "-Werror", "-fsyntax-only", f"-I{CTMEM}", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})


def compiler_values(items: list[Check], arch: str, tmp_path: Path) -> dict[int, int]:
    """The compiler's value of each check, read from the array size in a deliberate type conflict."""
    lines = ["#include <stddef.h>", '#include "tmem_abi.h"']
    for i, c in enumerate(items):
        lines += [f"extern char probe_{i}[1];", f"extern int probe_{i}[({c.c_expr}) + 1];"]
    done = compile_c("\n".join(lines) + "\n", arch, tmp_path, "probe")
    found = re.findall(r"probe_(\d+)\W+ have \W?int\[(\d+)\]", done.stderr)
    return {int(i): int(n) - 1 for i, n in found}


def require_m32(tmp_path: Path) -> None:
    done = compile_c("#include <stdint.h>\nint x;\n", "-m32", tmp_path, "m32")
    if done.returncode != 0:
        pytest.fail(f"gcc -m32 cannot compile here; {MULTILIB}.\n{done.stderr}")


@pytest.mark.parametrize("arch,word_size,compat", [
    ("-m64", 64, False),  # native structs, x86-64: 64-bit guests
    ("-m32", 32, False),  # native structs, i386: 32-bit guests
    ("-m64", 32, True),   # compat structs on a 64-bit host: 32-bit guests, as Xen's compat layer
    ("-m32", 32, True),
], ids=["native-m64-ws64", "native-m32-ws32", "compat-m64-ws32", "compat-m32-ws32"])
def test_tmem_abi_h_matches_the_model(arch: str, word_size: int, compat: bool, tmp_path: Path) -> None:
    if arch == "-m32":
        require_m32(tmp_path)
    flavour = f"{'compat' if compat else 'native'} structs, gcc {arch}"
    items = checks(word_size, compat)
    done = compile_c(source(items, flavour), arch, tmp_path, "layouts")
    if done.returncode != 0:
        actual = compiler_values(items, arch, tmp_path)
        wrong = [f"{c.message(flavour)}, compiler says {actual.get(i, '?')}"
                 for i, c in enumerate(items) if actual.get(i) != c.expected]
        pytest.fail("tmem_abi.h disagrees with models.layouts:\n" + "\n".join(wrong or [done.stderr]))


def test_every_field_of_the_model_is_checked() -> None:
    # 2 sizes + 17 offsets per version: a field added to the model must reach the C checks.
    table = layouts_table()
    for ws in (64, 32):
        items = checks(ws, compat=ws == 32)
        assert len(items) == sum(2 + len(t[str(ws)]["offsetof"]) for t in table.values())
        assert {c.version for c in items} == set(table)


def test_a_wrong_value_is_reported_with_both_values(tmp_path: Path) -> None:
    # The check must be able to fail: a deliberately wrong model value is caught and both numbers shown.
    c = checks(64, compat=False)[0]
    bad = Check(c.version, c.word_size, c.what, c.c_expr, c.expected + 8)
    done = compile_c(source([bad], "native structs, gcc -m64"), "-m64", tmp_path, "bad")
    assert done.returncode != 0
    assert bad.message("native structs, gcc -m64") in done.stderr
    assert compiler_values([bad], "-m64", tmp_path) == {0: c.expected}

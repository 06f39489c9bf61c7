"""Builds the native loader and ctmem, the C tmem host, with cffi in API mode; pyproject.toml holds the metadata.

A missing C compiler stops the install with a message that says which one
was looked for and how to get one, not with a compiler traceback.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sysconfig

from setuptools import setup
from setuptools.command.build_ext import build_ext

NO_COMPILER = (
    "tmem-conformance compiles its native backend loader (conformance/native) and its C tmem host "
    "(ctmem, candidates/ctmem) with cffi and needs a C "
    "compiler, but {what}. Install one (Debian/Ubuntu: apt-get install gcc; Fedora: dnf install gcc; "
    "macOS: xcode-select --install) or point CC at it, then install again."
)


def _compiler_command() -> str:
    return os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"


class BuildExt(build_ext):
    """build_ext that names a missing or broken compiler plainly."""

    def run(self) -> None:
        cc = _compiler_command()
        words = shlex.split(cc)
        exe = words[0] if words else "cc"
        if shutil.which(exe) is None:
            raise SystemExit("error: " + NO_COMPILER.format(what=f"{exe!r} (from CC or Python's build "
                                                                 f"configuration: {cc!r}) was not found"))
        super().run()

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        from setuptools.errors import CCompilerError, CompileError, LinkError

        try:
            super().build_extension(ext)
        except (CCompilerError, CompileError, LinkError) as e:
            raise SystemExit(f"error: compiling {ext.name} failed: {e}\n"
                             + NO_COMPILER.format(what="compiling with it failed")) from e


def _cytmem_extensions() -> list:
    """cytmem's Cython core (candidates/cytmem/build_cytmem.py), compiled by the same build_ext."""
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "build_cytmem", os.path.join(here, "candidates", "cytmem", "build_cytmem.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return list(module.extensions())
    except RuntimeError as e:
        raise SystemExit(f"error: {e}") from e


# One cffi build module per C library, as in pyca/cryptography: the engine's loader, and ctmem.
setup(cffi_modules=["conformance/native/build_loader.py:ffibuilder", "candidates/ctmem/build_ctmem.py:ffibuilder"],
      ext_modules=_cytmem_extensions(),
      cmdclass={"build_ext": BuildExt})

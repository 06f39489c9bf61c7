"""The Cython build of cytmem's core: `extensions()` for setup.py, and an in-place build.

setup.py passes `extensions()` to `setup(ext_modules=...)`, so `pip install`
compiles `tmem_conformance.candidates.cytmem._core` from _core.pyx (which
includes the .pxi files) and cytmem.h. Cython is needed at build time only;
the generated C goes under build/, never next to the sources.

For development, without reinstalling:

    python candidates/cytmem/build_cytmem.py     # builds _core*.so next to _core.pyx

TMEM_CYTMEM_SANITIZE=1 at build time adds AddressSanitizer and
UndefinedBehaviorSanitizer (load the result with the sanitizer runtimes in
LD_PRELOAD, as tox.ini's `sanitize` env does for ctmem).
"""

from __future__ import annotations

import glob
import os
import sys

MODULE = "tmem_conformance.candidates.cytmem._core"
PACKAGE = "tmem_conformance.candidates.cytmem"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CFLAGS = ["-O2"]
SANITIZE_ENV = "TMEM_CYTMEM_SANITIZE"
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
DIRECTIVES = {"language_level": 3, "boundscheck": False, "wraparound": False, "cdivision": True,
              "initializedcheck": False}
NO_CYTHON = (
    "building cytmem (candidates/cytmem) needs Cython, which is not importable here{why}. "
    "Install it (pip install 'cython>=3') and build again; for a build with pip, add "
    "'cython>=3' to [build-system] requires in pyproject.toml."
)


def _rel(path: str) -> str:
    """Source paths relative to the working directory, as setuptools wants them."""
    return os.path.relpath(path)


def sanitize_requested() -> bool:
    return os.environ.get(SANITIZE_ENV, "") not in ("", "0")


def extensions() -> list:
    """The cythonized setuptools.Extension of cytmem's core (a list of one)."""
    try:
        from Cython.Build import cythonize
    except ImportError as e:
        raise RuntimeError(NO_CYTHON.format(why=f" ({e})")) from e
    from setuptools import Extension

    depends = [_rel(p) for p in sorted(glob.glob(os.path.join(HERE, "*.pxi")) + [os.path.join(HERE, "cytmem.h")])]
    sanitize = SANITIZE_FLAGS if sanitize_requested() else []
    ext = Extension(MODULE, sources=[_rel(os.path.join(HERE, "_core.pyx"))], include_dirs=[_rel(HERE)],
                    depends=depends, extra_compile_args=CFLAGS + sanitize, extra_link_args=sanitize)
    build_dir = _rel(os.path.join(ROOT, "build", "cython"))
    return cythonize([ext], compiler_directives=DIRECTIVES, build_dir=build_dir, quiet=True)


def build_in_place() -> str:
    """Compile the core and put the .so next to _core.pyx (candidates/cytmem/); its path.

    The module is built under build/ and then renamed into place, so a process that
    has the old one loaded keeps its mapping instead of seeing the file rewritten.
    """
    from setuptools import Distribution

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        dist = Distribution({"name": "cytmem-inplace", "ext_modules": extensions()})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib = os.path.join("build", "cytmem-lib")
        cmd.build_temp = os.path.join("build", "cytmem-temp")
        dist.run_command("build_ext")
        built = cmd.get_ext_fullpath(MODULE)
        target = os.path.join(HERE, os.path.basename(built))
        os.replace(built, target)
        return target
    finally:
        os.chdir(cwd)


if __name__ == "__main__":
    try:
        print(f"built {build_in_place()}")
    except RuntimeError as e:
        sys.exit(f"error: {e}")

"""Type stub of ctmem's compiled module (cffi API mode, build_ctmem.py), for type checkers: make()
opens the shared object through the engine's loader, by its file (the module's __file__)."""

from typing import Any

ffi: Any
lib: Any

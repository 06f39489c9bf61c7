"""Deliberately broken backends, under their old path: the fault catalogue lives in the package.

`tmem_conformance.selftest.faults` holds every faulty host (the simulator
with one realistic fault each) and FAULTS, the catalogue the suite's power
is measured with. This module re-exports it, so a backend spec such as
`tests.broken:NoPrivilegeCheck` still resolves.
"""

from __future__ import annotations

from tmem_conformance.selftest.faults import *  # noqa: F403
from tmem_conformance.selftest.faults import FAULTS, Broken, Fault, NoPrivilegeCheck  # noqa: F401
from tmem_conformance.selftest.faults import __all__ as _faults_all

#: The catalogue under its former name.
CATALOGUE = FAULTS

__all__ = [*_faults_all, "CATALOGUE"]

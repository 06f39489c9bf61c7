"""Return values as plain ints (hot path): models.abi.Errno's numbers, positive."""

from __future__ import annotations

from tmem_conformance.models.abi import Errno

EPERM = int(Errno.EPERM)
EFAULT = int(Errno.EFAULT)
ENOMEM = int(Errno.ENOMEM)
ENODEV = int(Errno.ENODEV)
EINVAL = int(Errno.EINVAL)
ENOSPC = int(Errno.ENOSPC)
EFROZEN = int(Errno.EFROZEN)
EEMPTY = int(Errno.EEMPTY)
ENOSYS = 38  # not a value tmem itself returns: a host may answer a retired number with it (TMEM-ABI-001)

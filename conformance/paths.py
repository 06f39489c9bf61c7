"""Output and input paths checked before any work starts: a typo costs one line, not a run."""

from __future__ import annotations

import argparse
import os

from .models.errors import UsageError


def writable(path: str | None, option: str) -> None:
    """Refuse an output path that cannot be written (missing directory, a directory, no permission)."""
    if not path or path == "-":
        return
    full = os.path.abspath(path)
    parent = os.path.dirname(full)
    if os.path.isdir(full):
        raise UsageError(f"{option} {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise UsageError(f"{option} {path!r}: the directory {parent!r} does not exist (create it first)")
    if not os.access(parent, os.W_OK) or (os.path.exists(full) and not os.access(full, os.W_OK)):
        raise UsageError(f"{option} {path!r} cannot be written (permission denied)")


def readable(path: str, what: str) -> None:
    """Refuse an input file that is missing, a directory or unreadable."""
    if os.path.isdir(path):
        raise UsageError(f"{what} {path!r} is a directory, not a file")
    if not os.path.exists(path):
        raise UsageError(f"{what} {path!r} does not exist")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{what} {path!r} cannot be read (permission denied)")


def add_abi_file(p: argparse.ArgumentParser) -> None:
    """--abi-file: the command sees the revision each file describes as one more row (cli.main installs it)."""
    p.add_argument("--abi-file", metavar="REV.toml", action="append", default=[],
                   help="add a proposed ABI revision described as data (repeatable; see examples/)")

"""The `tmem-conformance` command line.

Misuse is a usage error with a fix (exit 2), never a traceback; a failed
certification exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .models.errors import TmemConformanceError, UsageError
from .paths import add_abi_file, writable

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
Command = Callable[[argparse.Namespace], int]


def _layouts(args: argparse.Namespace) -> int:
    from .models.layouts import layouts_table
    table = layouts_table()
    if args.format == "json":
        print(json.dumps(table, indent=2))
        return EXIT_OK
    for v, by_ws in table.items():
        for ws, t in by_ws.items():
            print(f"{v} {ws}-bit: sizeof(tmem_op)={t['sizeof']['tmem_op']} "
                  f"sizeof(tmem_handle)={t['sizeof']['tmem_handle']}")
            for name, off in t["offsetof"].items():
                print(f"  {name:18} {off}")
    return EXIT_OK


def _matrix(args: argparse.Namespace) -> int:
    from .report.matrix import render
    sys.stdout.write(render(args.format) + ("\n" if args.format == "json" else ""))
    return EXIT_OK


def _docs(args: argparse.Namespace) -> int:
    from .docs import render
    from .paths import writable
    writable(args.output, "-o")
    text = render()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _header(args: argparse.Namespace) -> int:
    from .native import header_text
    sys.stdout.write(header_text())
    return EXIT_OK


def _at_least_one(text: str) -> int:
    """An argparse type: a whole number of 1 or more (pages, rounds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"takes 1 or more, not {value}")
    return value


def _bench(args: argparse.Namespace) -> int:
    from . import bench
    from .cases import default_peers
    from .registry import load
    names = args.backend or ["simulator", "ctmem", "cytmem"]
    factories = {}
    for name in names:
        try:
            factories[name] = load(name).factory
        except UsageError as e:
            if args.backend:
                raise
            print(f"(skipping {name}: {e})", file=sys.stderr)
    writable(args.plot, "--plot")
    doc: dict[str, Any] = {"ops": bench.run(factories, pages=args.pages, rounds=args.rounds)}
    if not args.no_rates:
        doc["rates"] = bench.certification_rates(factories, rounds=args.rounds)
    if args.cells != "none":
        first = next(iter(factories))
        doc["cells_backend"] = first
        peers = {name: load(name).factory for name in default_peers(first)}
        doc["cells"] = bench.cell_seconds(factories[first], None if args.cells == "all" else args.cells, peers)
        doc["schedule"] = bench.schedule(doc["cells"])
    if args.format == "json":
        print(json.dumps(doc, indent=2))
    else:
        print(bench.render(doc["ops"]))
        if "rates" in doc:
            print(bench.render_rates(doc["rates"]))
        if "cells" in doc:
            print(bench.render_cells(doc["cells"]))
            print(bench.render_schedule(doc["schedule"]))
    if args.plot:
        bench.plot(doc, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return EXIT_OK


def abi_files_installed(paths: Sequence[str]) -> contextlib.AbstractContextManager[object]:
    """The revisions of --abi-file in the version table and the matrix while the command runs (absolute
    paths, so that certify's workers, wherever they run, read the same files)."""
    if not paths:
        return contextlib.nullcontext()
    from .models.revisions import installed
    return installed([os.path.abspath(p) for p in paths])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tmem-conformance",
                                description="Conformance suite for the Xen tmem hypercall ABI (v0, v1).")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sp = sub.add_parser("layouts", help="struct tmem_op/tmem_handle sizes and offsets per version and word size")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    sp.set_defaults(func=_layouts)
    sp = sub.add_parser("matrix", help="the documented compatibility matrix")
    sp.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    add_abi_file(sp)
    sp.set_defaults(func=_matrix)
    sp = sub.add_parser("docs", help="print CONFORMANCE.md (the matrix and the rule catalogue)")
    sp.add_argument("-o", "--output", help="write to this file instead of standard output")
    add_abi_file(sp)
    sp.set_defaults(func=_docs)
    sp = sub.add_parser("header", help="print tmem_backend.h, the C ABI a native backend exports")
    sp.set_defaults(func=_header)
    sp = sub.add_parser("bench", help="put/get/flush cost per candidate, as multiples of a 4 KiB memcpy")
    sp.add_argument("--backend", action="append", metavar="SPEC", help="a backend to measure (repeatable)")
    sp.add_argument("--pages", type=_at_least_one, default=256, help="pages each op round moves (default 256)")
    sp.add_argument("--rounds", type=_at_least_one, default=5,
                    help="rounds of each measurement: ops, and runs of the steps-per-second case (default 5)")
    sp.add_argument("--no-rates", action="store_true", help="skip the certification steps-per-second table")
    sp.add_argument("--cells", default="all", metavar="PATTERN|all|none",
                    help="time the certification of these cells with the first backend, case after case (with "
                         "migrations to and from the other built-in candidates), and project the wall time on "
                         "1-16 workers (default: all; none skips it)")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    sp.add_argument("--plot", metavar="FILE.png", help="draw cost per op and seconds per cell (matplotlib)")
    sp.set_defaults(func=_bench)
    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


def _certify(sub: argparse._SubParsersAction) -> None:
    from .certify import register
    register(sub)


def _reports(sub: argparse._SubParsersAction) -> None:
    from .report.cli import register
    register(sub)


def _selftest(sub: argparse._SubParsersAction) -> None:
    from .selftest.run import register
    register(sub)


def _scaffold(sub: argparse._SubParsersAction) -> None:
    from .scaffold import register
    register(sub)


def _abidiff(sub: argparse._SubParsersAction) -> None:
    from .abidiff import register
    register(sub)


#: Commands defined in their own modules.
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _certify, _reports, _selftest, _scaffold, _abidiff]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    trailing = getattr(args, "trailing_positionals", None)  # positionals that may follow the options
    if extra and trailing and not any(e.startswith("-") for e in extra):
        setattr(args, trailing, getattr(args, trailing) + extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with abi_files_installed(getattr(args, "abi_file", None) or []):
            return int(args.func(args))
    except UsageError as e:
        print(f"tmem-conformance {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TmemConformanceError as e:
        print(f"tmem-conformance {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

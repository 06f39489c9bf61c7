"""The `tmem-conformance` command line.

Misuse is a usage error with a fix (exit 2), never a traceback; a failed
certification exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .models.errors import TmemConformanceError, UsageError

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
    from .matrix_view import render
    sys.stdout.write(render(args.format) + ("\n" if args.format == "json" else ""))
    return EXIT_OK


def _docs(args: argparse.Namespace) -> int:
    from .docs import render
    text = render()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


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
    sp.set_defaults(func=_matrix)
    sp = sub.add_parser("docs", help="print CONFORMANCE.md (the matrix and the rule catalogue)")
    sp.add_argument("-o", "--output", help="write to this file instead of standard output")
    sp.set_defaults(func=_docs)
    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


def _certify(sub: argparse._SubParsersAction) -> None:
    from .certify import register
    register(sub)


def _reports(sub: argparse._SubParsersAction) -> None:
    from .report_cli import register
    register(sub)


#: Commands defined in their own modules.
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_certify, _reports]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
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

"""`tmem-conformance new-backend NAME --lang python|c [DIR]`: an implementer's project that certifies at once.

The skeleton answers every command with -ENODEV, the ABI's answer while
tmem is not enabled (tmem-abi.md section 1, step 1), so `certify` runs on
it from the first minute and fails cell by cell, naming rules. Each place
to fill in lists the rule ids of CONFORMANCE.md it must satisfy, taken from
the rule catalogue (models/rules.py), so a new rule shows in the next
skeleton without touching this file.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from dataclasses import dataclass

import jinja2

from .models.abi import Cmd
from .models.errors import UsageError
from .models.rules import RULES

LANGS = ("python", "c")
NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")


@dataclass(frozen=True)
class Section:
    """One place to fill in: the commands it answers and the rule areas (or single rules) it must satisfy."""

    method: str
    title: str
    commands: tuple[int, ...]
    areas: tuple[str, ...]
    extra: tuple[str, ...] = ()

    @property
    def rules(self) -> list[str]:
        return sorted({r.id for r in RULES.values() if r.area in self.areas} | set(self.extra))


#: The handlers of the skeleton, by command (tmem.h numbers); `unknown` answers every other command.
SECTIONS = (
    Section("control", "CONTROL: the toolstack's sub-ops (freeze, policy, save, restore)", (Cmd.CONTROL,),
            ("CTRL", "SAVE", "STREAM", "MIG"), ("TMEM-HC-004", "TMEM-RESTORE-001", "TMEM-RESTORE-003")),
    Section("new_pool", "NEW_POOL: the version gate, flags, slots, shared pools", (Cmd.NEW_POOL,),
            ("POOL", "PAIR"), ("TMEM-SHARED-001", "TMEM-SHARED-002", "TMEM-SHARED-003")),
    Section("destroy_pool", "DESTROY_POOL", (Cmd.DESTROY_POOL,), (), ("TMEM-DESTROY-001", "TMEM-DESTROY-002",
                                                                      "TMEM-SHARED-004")),
    Section("put", "NEW_PAGE, PUT_PAGE and WRITE: storing a page", (Cmd.NEW_PAGE, Cmd.PUT_PAGE, Cmd.WRITE),
            ("PUT", "EPH"), ("TMEM-GUEST-001",)),
    Section("get", "GET_PAGE and READ: copying a page back", (Cmd.GET_PAGE, Cmd.READ), ("GET",),
            ("TMEM-GUEST-002",)),
    Section("flush", "FLUSH_PAGE and FLUSH_OBJECT", (Cmd.FLUSH_PAGE, Cmd.FLUSH_OBJECT), ("FLUSH",)),
    Section("auth", "AUTH: who may join a shared pool", (Cmd.AUTH,), (), ("TMEM-HC-004", "TMEM-SHARED-005")),
    Section("restore_new", "RESTORE_NEW: the toolstack re-creates a pool in a given slot", (Cmd.RESTORE_NEW,),
            (), ("TMEM-HC-004", "TMEM-RESTORE-002")),
    Section("unknown", "XCHG, a number the revision retired, and any other command", (), (),
            ("TMEM-HC-002", "TMEM-HC-003", "TMEM-ABI-001")),
)
#: What every call must satisfy before its command is looked at.
DISPATCH_RULES = sorted(r.id for r in RULES.values() if r.area in ("HC", "LAYOUT"))
DOMAIN_RULES = ["TMEM-DESTROY-003", "TMEM-HC-007"]

FILES: dict[str, dict[str, str | None]] = {
    "python": {"pyproject.toml": "pyproject.toml.j2", "tox.ini": "tox.ini.j2", "README.md": "README.md.j2",
               "src/{module}/__init__.py": "init.py.j2", "src/{module}/host.py": "host.py.j2"},
    "c": {"{name}.c": "backend.c.j2", "Makefile": "Makefile.j2", "README.md": "README.md.j2",
          "tmem_backend.h": None},
}


def wrap_ids(ids: list[str], prefix: str, indent: str, width: int = 100) -> str:
    """Rule ids as comment lines: the first starts with `prefix`, the others with `indent`."""
    return "\n".join(textwrap.wrap(", ".join(ids) + ".", width, initial_indent=prefix, subsequent_indent=indent,
                                    break_on_hyphens=False, break_long_words=False))


def render(name: str, lang: str) -> dict[str, str]:
    """The project's files, by path relative to its directory."""
    if lang not in LANGS:
        raise UsageError(f"--lang takes {' or '.join(LANGS)}, not {lang!r}")
    if not NAME.fullmatch(name):
        raise UsageError(f"a backend name is lower-case letters and digits, words joined by '-' or '_' "
                         f"(it names the package, the library and the registered backend), not {name!r}")
    env = jinja2.Environment(loader=jinja2.PackageLoader("tmem_conformance", f"templates/scaffold/{lang}"),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["ids"] = wrap_ids
    module = name.replace("-", "_")
    context = {"name": name, "module": module, "sections": SECTIONS, "dispatch_rules": DISPATCH_RULES,
               "domain_rules": DOMAIN_RULES, "rule_count": len(RULES),
               "cmds": {int(c): c.name for c in Cmd}}
    out = {}
    for path, template in FILES[lang].items():
        target = path.format(name=name, module=module)
        if template is None:
            from .native import header_text
            out[target] = header_text()
        else:
            out[target] = env.get_template(template).render(**context)
    return out


def create(name: str, lang: str, parent: str) -> str:
    """Write the project into PARENT/NAME, which must not exist yet (or be empty); returns its path."""
    files = render(name, lang)
    root = os.path.join(parent, name)
    if os.path.exists(root) and (not os.path.isdir(root) or os.listdir(root)):
        raise UsageError(f"{root!r} already exists and is not an empty directory: choose another NAME or DIR")
    if not os.path.isdir(parent):
        raise UsageError(f"cannot create the project in {parent!r}: the directory does not exist")
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-backend", help="scaffold a backend project (Python package or C library) that "
                                           "certifies at once, each place to fill in marked with its rules")
    # NAME and DIR as one positional list, so that --lang may come between them (see cli.main).
    p.add_argument("where", metavar="NAME [DIR]", nargs="+",
                   help="the backend's name (package, library and registered name), and where to create "
                        "NAME/ (default: here)")
    p.add_argument("--lang", choices=LANGS, required=True, help="a Python package or a C shared library")
    p.set_defaults(func=main, trailing_positionals="where")


def main(args: argparse.Namespace) -> int:
    if len(args.where) > 2:
        raise UsageError(f"new-backend takes NAME and at most one DIR, not {' '.join(args.where)!r}")
    args.name, args.dir = args.where[0], (args.where[1:] or ["."])[0]
    root = create(args.name, args.lang, args.dir)
    module = args.name.replace("-", "_")
    if args.lang == "python":
        steps = [f"cd {root}", "pip install -e .", f"tmem-conformance certify --backend {args.name}",
                 "# or, with tox: tox -e certify"]
    else:
        steps = [f"cd {root}", "make", f"tmem-conformance certify --backend ./lib{module}.so"]
    sys.stdout.write(f"created {root} ({args.lang}); every command answers -ENODEV until you fill it in:\n")
    sys.stdout.write("".join(f"  {s}\n" for s in steps))
    return 0

"""A report with known deviations in every format: the deviation cells show their own verdict, never pass,
each deviation is listed with its rule and the fix it lacks, and every format names the report's level."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from tmem_conformance.report import html, render

from .deviation_docs import LEVEL, deviation_doc, old_doc


def _grid_line(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(label))


def test_text_shows_deviation_cells_apart_and_lists_each_deviation_with_its_fix() -> None:
    text = render.text([deviation_doc()])
    assert text.startswith(f"simulator (ci profile, level {LEVEL}, suite 0.1.0): 18 pass, 2 deviation; "
                           "known deviations: privilege-check, uuid-falls-through\n")
    assert re.fullmatch(r"v1 host, 64-bit guest \| refused: pass +\| intact: DEVIATION",
                        _grid_line(text, "v1 host, 64-bit guest")), text
    assert re.fullmatch(r"v1 guest, 64-bit +\| graceful-failure: pass \| native: DEVIATION",
                        _grid_line(text, "v1 guest, 64-bit")), text
    assert ("simulator mig:v1:v1:64/migration: known deviation uuid-falls-through (TMEM-SAVE-006, fixed by "
            "9a2982ce85): SAVE_GET_POOL_UUID falls through into SAVE_END\n"
            "    first seen at source (v1): dom0/64-bit CONTROL SAVE_GET_POOL_UUID pool 0\n") in text
    assert text.count("known deviation privilege-check (TMEM-HC-004, fixed by restored in 2012)") == 3
    assert "level spec" in render.text([old_doc()]) and "DEVIATION" not in render.text([old_doc()])


def test_markdown_links_each_deviation_cell_to_its_listed_deviation() -> None:
    md = render.markdown([deviation_doc()])
    assert md.startswith(f"# tmem conformance report (level {LEVEL})\n")
    page = MarkdownIt("commonmark").enable("table").render(md)
    assert page.count("<table>") == 2
    link = "d-simulator-mig-v1-v1-64-migration-uuid-falls-through"
    assert f"intact: [DEVIATION](#{link})" in md and "native: [DEVIATION](#d-simulator-pair-v1-64-v1-control-" in md
    assert f'<a id="{link}"></a>simulator: mig:v1:v1:64/migration: uuid-falls-through' in md
    assert ("Rule [TMEM-SAVE-006](CONFORMANCE.md#tmem-save-006): SAVE_GET_POOL_UUID falls through into SAVE_END "
            "(fixed by 9a2982ce85)") in md
    assert "## Known deviations" in md and "## Violations" not in md
    assert "**pass**" in md and "**deviation**" not in md


def test_junit_skips_a_deviation_cell_naming_each_deviation_and_the_fix_it_lacks() -> None:
    root = ET.fromstring(render.junit([deviation_doc(failing="pair:v0:64:v0")]))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == f"tmem-conformance[simulator] at {LEVEL}"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("20", "1", "2")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["level"] == LEVEL
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    skipped = cases["mig:v1:v1:64"].find("skipped")
    assert skipped is not None and skipped.get("message") == (
        f"known deviation at {LEVEL}: uuid-falls-through (TMEM-SAVE-006, fixed by 9a2982ce85); "
        "privilege-check (TMEM-HC-004, fixed by restored in 2012)")
    assert "mig:v1:v1:64/control: privilege-check" in (skipped.text or "")
    pair = cases["pair:v1:64:v1"].find("skipped")
    assert pair is not None and pair.get("message") == (f"known deviation at {LEVEL}: privilege-check "
                                                        "(TMEM-HC-004, fixed by restored in 2012)")
    assert cases["pair:v0:64:v0"].find("failure") is not None
    assert all(list(cases[c]) == [] for c in ("pair:v0:32:v0", "mig:v0:v0:64")), "a pass is neither skipped nor failed"


class _Cells(HTMLParser):
    """Each grid cell's verdict spans (class, data-verdict) and the listed deviations (id, data-deviation)."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = ""
        self.verdicts: dict[str, list[tuple[str, str]]] = {}
        self.listed: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "td":
            self.cell = a["data-cell"]
        elif tag == "span" and "data-verdict" in a:
            self.verdicts.setdefault(self.cell, []).append((a["class"], a["data-verdict"]))
        elif tag == "details" and "data-deviation" in a:
            self.listed.append((a["id"], a["data-deviation"]))


def test_html_gives_deviation_cells_their_own_colour_and_lists_each_deviation() -> None:
    page = html.render([deviation_doc()])
    assert f"<title>tmem conformance: simulator (level {LEVEL})</title>" in page
    assert f"tmem conformance report <span class=\"level\">(level {LEVEL})</span>" in page
    style = re.search(r"\.verdict-deviation \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}", page)
    assert style and style.groups() == ("#fff8c5", "#7d4e00")  # amber: not the pass green, nor the fail red
    assert ".verdict-pass { background: #dafbe1;" in page and ".verdict-fail { background: #ffebe9;" in page
    parsed = _Cells()
    parsed.feed(page)
    assert parsed.verdicts["mig:v1:v1:64"] == [("verdict verdict-deviation", "deviation")]
    assert parsed.verdicts["pair:v1:64:v1"] == [("verdict verdict-deviation", "deviation")]
    assert parsed.verdicts["mig:v0:v0:64"] == [("verdict verdict-pass", "pass")]
    assert parsed.listed == [("d-simulator-pair-v1-64-v1-control-privilege-check", "privilege-check"),
                             ("d-simulator-mig-v1-v1-64-migration-uuid-falls-through", "uuid-falls-through"),
                             ("d-simulator-mig-v1-v1-64-migration-privilege-check", "privilege-check"),
                             ("d-simulator-mig-v1-v1-64-control-privilege-check", "privilege-check")]
    assert '<a href="#d-simulator-mig-v1-v1-64-migration-uuid-falls-through">' in page
    listed = page[page.index('id="d-simulator-mig-v1-v1-64-migration-uuid-falls-through"'):]
    listed = listed[:listed.index("</details>")]
    assert '<a href="CONFORMANCE.md#tmem-save-006">TMEM-SAVE-006</a>' in listed
    assert "SAVE_GET_POOL_UUID falls through into SAVE_END (fixed by <code>9a2982ce85</code>" in listed

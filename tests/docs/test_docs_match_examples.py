"""The docs show their code in the Markdown itself, and it is the code that is tested.

- A quickstart shows its example (``examples/*.py``) whole, character for
  character, so a reader on GitHub sees what ``tests/examples/`` runs.
- An excerpt (a block whose first line is ``# <file> (excerpt)``) has each of
  its lines, in order, in that file.
- An API page names every public name of the modules it documents, and no
  name they lack, outside its ``:::`` reference directives.
- No page includes code by a snippet directive, which only a built site shows.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = ["flask_app.py", "starlette_app.py", "fastapi_app.py", "wsgi_app.py"]
FENCE = re.compile(r"^```(?P<language>[\w-]*)\n(?P<code>.*?)^```$", re.M | re.S)
EXCERPT = re.compile(r"# (?P<path>[\w/.-]+) \(excerpt\)")
DIRECTIVE = re.compile(r"^::: (?P<module>[\w.]+)\n(?:    .*\n|\s*\n)*", re.M)
API_PAGES = sorted((DOCS / "api").glob("*.md"))


def python_blocks(page: Path) -> list[str]:
    return [m["code"] for m in FENCE.finditer(page.read_text()) if m["language"] == "python"]


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_quickstart_shows_the_example_whole(name: str) -> None:
    code = (ROOT / "examples" / name).read_text()
    showing = [
        page for page in (DOCS / "quickstart").glob("*.md")
        if f"This is `examples/{name}`" in page.read_text()
    ]
    assert len(showing) == 1, f"no quickstart says 'This is `examples/{name}`'"
    assert code in python_blocks(showing[0]), f"{showing[0].name} does not show {name} as it is"


def test_no_page_includes_code_by_a_directive() -> None:
    for page in [*pages(), ROOT / "README.md"]:
        assert "--8<--" not in page.read_text(), page


def excerpts() -> list[tuple[str, str, str]]:
    """Each excerpt as (page, file, its lines)."""
    found = []
    for page in pages():
        for code in python_blocks(page):
            head, _, body = code.partition("\n")
            marker = EXCERPT.fullmatch(head)
            if marker:
                found.append((page.name, marker["path"], body))
    return found


def test_the_api_pages_show_excerpts() -> None:
    assert {page for page, _, _ in excerpts()} >= {page.name for page in API_PAGES}


@pytest.mark.parametrize(
    ("page", "path", "body"), excerpts(), ids=[f"{p}:{f}" for p, f, _ in excerpts()]
)
def test_an_excerpt_is_in_its_file_in_order(page: str, path: str, body: str) -> None:
    source = (ROOT / path).read_text().splitlines()
    position = 0
    for line in (line for line in body.splitlines() if line.strip()):
        assert line in source[position:], f"{page}: not in {path} after line {position}: {line!r}"
        position = source.index(line, position) + 1


def documented_modules(page: Path) -> list[str]:
    return [m["module"] for m in DIRECTIVE.finditer(page.read_text())]


def public_names(module: str) -> set[str]:
    return set(getattr(importlib.import_module(module), "__all__", ()))


def listed_names(prose: str) -> set[str]:
    """The names in the "Name" (or "Fixture") column of the page's tables."""
    names: set[str] = set()
    column: int | None = None
    for line in prose.splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if column is None:
            column = next((i for i, cell in enumerate(cells) if cell in {"Name", "Fixture"}), None)
        elif not set(line) <= set("|-: "):
            names.update(re.findall(r"`(\w+)`", cells[column]))
    return names


@pytest.mark.parametrize("page", API_PAGES, ids=lambda page: page.name)
def test_an_api_page_names_every_public_name(page: Path) -> None:
    modules = documented_modules(page)
    assert modules, f"{page.name} documents no module"
    prose = FENCE.sub("", DIRECTIVE.sub("", page.read_text()))
    exported = set().union(*(public_names(module) for module in modules))
    listed = listed_names(prose)
    assert exported - listed == set(), f"{page.name} does not list these"
    assert listed - exported == set(), f"{page.name} lists what its modules do not export"

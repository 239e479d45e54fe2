"""Each Python block of the README, docs/testing.md and docs/index.md runs as a reader runs it.

A block whose first line is ``# <name>.py`` is a file of the reader's
project (``myapp.py``, ``server.py``, ``conftest.py``): it is written into a
fresh folder beside the others of its page. A block defining ``test_*``
functions is a test module there, run by pytest with this package's plugin;
every one of its tests must pass. Any other block is a script, run with the
``CLERK_*`` keys a reader has set. Shell blocks (``sh``) are commands, not
Python: tests/docs/test_setup_commands.py checks the README's.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from clerk_middleware.testing import ClerkTestKit, TestIssuer

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "docs/testing.md", "docs/index.md"]
LANGUAGES = {"python", "sh"}
FENCE = re.compile(r"^```(?P<language>[\w-]*)\n(?P<code>.*?)^```$", re.M | re.S)
FILE_NAME = re.compile(r"# (?P<name>\w+\.py)$")
TIMEOUT = 180


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    language: str
    code: str

    @property
    def file_name(self) -> str | None:
        """The file it is (``# myapp.py`` on its first line), or None."""
        first = self.code.split("\n", 1)[0]
        found = FILE_NAME.fullmatch(first)
        return found["name"] if found else None

    @property
    def tests(self) -> list[str]:
        """The ``test_*`` functions it defines."""
        return [
            node.name for node in ast.parse(self.code).body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")
        ]

    @property
    def imports(self) -> set[str]:
        """The top-level names of the modules it imports."""
        names: set[str] = set()
        for node in ast.walk(ast.parse(self.code)):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
        return names


def blocks(page: str) -> list[Block]:
    text = (ROOT / page).read_text()
    return [
        Block(page, text.count("\n", 0, found.start()) + 1, found["language"], found["code"])
        for found in FENCE.finditer(text)
    ]


def python_blocks(page: str) -> list[Block]:
    return [block for block in blocks(page) if block.language == "python"]


def runnable() -> list[Block]:
    """The blocks that run: tests and scripts (not the project's files)."""
    return [block for page in PAGES for block in python_blocks(page) if block.file_name is None]


def project(page: str, folder: Path) -> None:
    """Write the page's project files (``# myapp.py`` blocks) into ``folder``."""
    for block in python_blocks(page):
        if block.file_name is not None:
            (folder / block.file_name).write_text(block.code)


def reader_env(**extra: str) -> dict[str, str]:
    """This environment less the developer's CLERK_* and pytest's own variables.

    The repository root is on the path, as for a reader in a clone of it (the
    README's block imports ``examples``).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLERK_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def test_every_block_is_python_or_a_shell_command() -> None:
    for page in PAGES:
        for block in blocks(page):
            assert block.language in LANGUAGES, f"{page}:{block.line}: {block.language!r}"


def test_the_pages_show_tests_and_scripts() -> None:
    runs = [block for page in PAGES for block in python_blocks(page) if block.file_name is None]
    assert sum(len(block.tests) for block in runs) >= 7
    assert any(not block.tests for block in runs)


@pytest.mark.parametrize("page", PAGES)
def test_each_project_file_is_used(page: str) -> None:
    named = [block for block in python_blocks(page) if block.file_name is not None]
    imported = set().union(*(block.imports for block in python_blocks(page)))
    for block in named:
        module = (block.file_name or "").removesuffix(".py")
        assert module == "conftest" or module in imported, f"{page}:{block.line}"


@pytest.mark.parametrize("block", runnable(), ids=lambda block: f"{block.page}:{block.line}")
def test_the_block_runs(block: Block, tmp_path: Path) -> None:
    project(block.page, tmp_path)
    if block.tests:
        module = tmp_path / f"test_block_{block.line}.py"
        module.write_text(block.code)
        # Warnings are errors, as here; pytest-asyncio (ours, not the reader's)
        # warns about its own settings, which a reader's project would have.
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "-p", "no:asyncio", "-W", "error", module.name]
        env = reader_env()
    else:
        script = tmp_path / f"block_{block.line}.py"
        script.write_text(block.code)
        command = [sys.executable, "-W", "error", script.name]
        env = reader_env(**ClerkTestKit(TestIssuer()).env)  # the keys a reader has set
    done = subprocess.run(  # noqa: S603 - this interpreter, a block of our own docs
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT,
        check=False,
    )
    report = f"{block.page}:{block.line}\n{block.code}\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, report
    if block.tests:
        assert f"{len(block.tests)} passed" in done.stdout, report
        assert "skipped" not in done.stdout, report

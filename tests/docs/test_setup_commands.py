"""The README's two set-up commands, and what makes the test command pass on a fresh machine.

A fresh machine (Debian, root, apt, Python, node) has no Chromium; the
browser tests need one, so the tox run installs it (``commands_pre``) and
``.ci/run`` runs nothing but the README's command.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import install_chromium

ROOT = Path(__file__).resolve().parents[2]
DEMO_COMMAND = 'python -m pip install -e ".[demo]" && python -m examples.demo'
TEST_COMMAND = "python -m pip install tox && python -m tox"


def shell_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", text, re.S)]


def test_the_readme_has_its_two_set_up_commands() -> None:
    set_up = (ROOT / "README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert shell_blocks(set_up) == [DEMO_COMMAND, TEST_COMMAND]


def test_ci_runs_the_readme_command_and_installs_nothing_itself() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    lines = [line for line in script.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[-1] == TEST_COMMAND
    assert "apt-get" not in script and "chromium" not in "\n".join(lines)


def tox() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    return config


def test_the_default_tox_run_installs_chromium_before_the_tests() -> None:
    config = tox()
    env_list = [name.strip() for name in config["tox"]["env_list"].split(",")]
    assert env_list[-1] == "py"  # the tests run in [testenv], last, so their failures end the log
    testenv = config["testenv"]
    assert testenv["commands_pre"].split() == [
        "python", "{tox_root}/tests/e2e/install_chromium.py"]
    assert "CHROMIUM" in testenv["pass_env"].split()
    assert testenv["extras"].strip() == "test"


# -- the install step, with apt-get played by a script that records its calls


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    return folder


def fake_apt_get(bin_dir: Path, *, installs: bool = True, fails: str = "") -> Path:
    """An ``apt-get`` that logs each call (and DEBIAN_FRONTEND) and may put a chromium on PATH."""
    log = bin_dir.parent / "apt-get.log"
    chromium = bin_dir / "chromium"
    lines = ["#!/bin/sh", "PATH=/usr/bin:/bin", f'echo "$DEBIAN_FRONTEND $*" >> "{log}"']
    if fails:
        lines.append(f'[ "$1" = "{fails}" ] && exit 100')
    if installs:
        lines.append(f'[ "$1" = install ] && echo "#!/bin/sh" > "{chromium}" '
                     f'&& chmod +x "{chromium}"')
    lines.append("exit 0")
    script = bin_dir / "apt-get"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_a_missing_chromium_is_installed_with_apt_get(bin_dir: Path) -> None:
    log = fake_apt_get(bin_dir)
    assert install_chromium.main({"PATH": str(bin_dir)}, root=True) == 0
    assert calls(log) == [
        "noninteractive update -qq",
        "noninteractive install -y -qq chromium",
    ]
    assert (bin_dir / "chromium").is_file()


@pytest.mark.parametrize("where", ["CHROMIUM", "PATH"])
def test_a_chromium_already_there_installs_nothing(where: str, bin_dir: Path) -> None:
    log = fake_apt_get(bin_dir)
    browser = bin_dir.parent / "my-chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    env = {"PATH": str(bin_dir)}
    if where == "CHROMIUM":
        env["CHROMIUM"] = str(browser)
    else:
        (bin_dir / "chromium").symlink_to(browser)
    assert install_chromium.main(env, root=True) == 0
    assert calls(log) == []


def test_without_apt_get_or_root_it_says_how_and_lets_the_tests_say_it_too(
    bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install_chromium.main({"PATH": str(bin_dir)}, root=True) == 0
    assert "cannot be installed here (no apt-get)" in capsys.readouterr().err
    log = fake_apt_get(bin_dir)
    assert install_chromium.main({"PATH": str(bin_dir)}, root=False) == 0
    assert "(not root)" in capsys.readouterr().err
    assert calls(log) == []


@pytest.mark.parametrize("step", ["update", "install"])
def test_a_failing_apt_get_fails_the_run(
    step: str, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = fake_apt_get(bin_dir, fails=step)
    assert install_chromium.main({"PATH": str(bin_dir)}, root=True) == 1
    assert f"apt-get {step}" in capsys.readouterr().err
    assert len(calls(log)) == (1 if step == "update" else 2)


def test_an_install_that_brings_no_chromium_fails_the_run(
    bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_apt_get(bin_dir, installs=False)
    assert install_chromium.main({"PATH": str(bin_dir)}, root=True) == 1
    assert "no chromium is on PATH" in capsys.readouterr().err


def test_tox_runs_it_as_a_script(bin_dir: Path) -> None:
    browser = bin_dir / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CHROMIUM", None)
    done = subprocess.run(  # noqa: S603 - this interpreter, the repository's script
        [sys.executable, str(ROOT / "tests" / "e2e" / "install_chromium.py")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

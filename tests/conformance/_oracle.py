"""Run Clerk's own SDK on a batch of conformance cases (``clerk_oracle.mjs`` under node).

The oracle needs node >= 20 and the packages pinned in ``package.json``
installed next to it::

    cd tests/conformance && npm ci
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["CLERK_BACKEND_VERSION", "ORACLE_DIR", "OracleError", "run_oracle"]

ORACLE_DIR = Path(__file__).resolve().parent
CLERK_BACKEND_VERSION = "3.25.0"
MIN_NODE_MAJOR = 20
_SETUP_HINT = f"Install the oracle's pinned packages with: cd {ORACLE_DIR} && npm ci"


class OracleError(RuntimeError):
    """The oracle could not run (node or its packages missing) or gave no usable answer."""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise OracleError(
            f"node (>= {MIN_NODE_MAJOR}) is not on PATH; the conformance suite runs Clerk's "
            f"JavaScript SDK under it. Install node 20 or later. {_SETUP_HINT}"
        )
    version = subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [node, "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".", 1)[0])
    except ValueError as exc:
        raise OracleError(f"could not read the node version ({version!r}) of {node}") from exc
    if major < MIN_NODE_MAJOR:
        raise OracleError(f"node {version} at {node} is too old: need >= {MIN_NODE_MAJOR}.")
    return node


def _check_packages() -> None:
    manifest = ORACLE_DIR / "node_modules" / "@clerk" / "backend" / "package.json"
    if not manifest.is_file():
        raise OracleError(f"@clerk/backend is not installed in {ORACLE_DIR}. {_SETUP_HINT}")
    version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if version != CLERK_BACKEND_VERSION:
        raise OracleError(
            f"node_modules has @clerk/backend {version}, the suite is pinned to "
            f"{CLERK_BACKEND_VERSION}. {_SETUP_HINT}"
        )


def run_oracle(
    cases: Sequence[Mapping[str, Any]],
    *,
    timeout: float = 300,
    script: str = "clerk_oracle.mjs",
) -> list[dict[str, Any]]:
    """Authenticate every case with Clerk's ``authenticateRequest``, in one node process.

    Args:
        cases: Cases as ``Case.to_json()`` builds them.
        timeout: Seconds to wait for node.
        script: The oracle script in this directory: ``clerk_oracle.mjs`` (session
            cases) or ``clerk_machine_oracle.mjs`` (machine-token cases, whose
            results are described in that script).

    Returns:
        One result per case, in order: ``name``, ``status``, ``reason``, ``message``,
        ``token``, ``headers``, ``auth``, ``auth_pending``, ``has``, ``error``,
        ``error_stage``, ``network_attempted`` (see ``clerk_oracle.mjs``).

    Raises:
        OracleError: node or the pinned packages are missing, or node failed.
    """
    node = _node()
    _check_packages()
    try:
        completed = subprocess.run(  # noqa: S603 - a fixed argv, no shell
            [node, script],
            input=json.dumps(list(cases)),
            cwd=ORACLE_DIR,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise OracleError(f"{script} did not finish within {timeout} s") from exc
    if completed.returncode != 0:
        raise OracleError(
            f"{script} exited with {completed.returncode}:\n{completed.stderr[-4000:]}"
        )
    try:
        results = json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        raise OracleError(
            f"{script} printed no JSON ({exc}); stdout starts {completed.stdout[:300]!r}"
        ) from exc
    if not isinstance(results, list) or len(results) != len(cases):
        raise OracleError(
            f"{script} answered {len(results) if isinstance(results, list) else results!r}"
            f" results for {len(cases)} cases"
        )
    for case, result in zip(cases, results, strict=True):
        if not isinstance(result, dict) or result.get("name") != case["name"]:
            raise OracleError(f"{script} answered out of order at case {case['name']!r}")
    return results

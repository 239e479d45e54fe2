"""The real-server benchmark measures what it says: every request authenticated, as its user.

A few seconds of the benchmark's own machinery (server processes, the Python
load generator) with the answers checked: no timing is asserted. Each
authenticating endpoint answers the verified user id, so a cache that handed
one token's user to another request, or a request that silently fell back to
signed-out, shows here as a wrong body or a non-200 answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clerk_middleware.testing import TestIssuer
from tests.benchmarks.bench_server import APP, FRONTEND_API, Config, Instance, running
from tests.benchmarks.bench_server_load import LoadResult, run_load

POOL = 200  # distinct tokens, each sent many times in a second: answers must never mix


def checked_load(
    port: int, instance: Instance, config: Config, tokens: Path, *, connections: int, seconds: float
) -> LoadResult:
    """A run of the Python load generator checking every body against its token's user."""
    return run_load(
        port,
        connections=connections,
        seconds=seconds,
        template=instance.template_path(config),
        tokens=tokens,
        use_wrk=False,
        check_bodies=True,
    )


def forged_tokens(instance: Instance, name: str, count: int) -> Path:
    """A token file of ``count`` users whose tokens another instance's key signed."""
    forger = TestIssuer(FRONTEND_API, production=True)
    path = instance.directory / f"tokens-{name}.txt"
    with path.open("w") as out:
        for n in range(count):
            user_id = f"user_2{n:024d}"
            out.write(f"{user_id} {forger.session_token(user_id, azp=APP, lifetime=3600)}\n")
    return path


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    issuer = TestIssuer(FRONTEND_API, production=True)
    suffix = issuer.options(authorized_parties=[APP]).cookie_suffix
    made = Instance(issuer, tmp_path_factory.mktemp("bench-server"), suffix)
    made.write_files(POOL)
    return made


@pytest.fixture(scope="module")
def uvicorn_port(instance: Instance) -> Iterator[int]:
    pytest.importorskip("uvicorn")
    pytest.importorskip("httptools")
    with running(Config("uvicorn", "starlette", "ours", "new"), instance, "") as (port, _):
        yield port


def test_uvicorn_every_answer_is_the_user_of_its_token(
    instance: Instance, uvicorn_port: int
) -> None:
    config = Config("uvicorn", "starlette", "ours", "new")
    tokens = instance.tokens_path(config)
    result = checked_load(uvicorn_port, instance, config, tokens, connections=4, seconds=1.0)
    assert result.requests > POOL  # every token went through more than once
    assert (result.non_200, result.bad_bodies, result.socket_errors) == (0, 0, 0)
    assert result.generator == "python"


def test_forged_tokens_are_counted_as_failures(instance: Instance, uvicorn_port: int) -> None:
    # Tokens of the same shape and kid, signed by another key: the same server
    # refuses every one, and the load generator reports each refusal.
    tokens = forged_tokens(instance, "forged", 20)
    config = Config("uvicorn", "starlette", "ours", "new")
    result = checked_load(uvicorn_port, instance, config, tokens, connections=2, seconds=0.5)
    assert result.requests > 0
    assert result.non_200 == result.requests


def test_gunicorn_sync_worker_closing_each_connection(instance: Instance) -> None:
    pytest.importorskip("gunicorn")
    config = Config("gunicorn", "flask", "ours", "same")
    with running(config, instance, "") as (port, _):
        tokens = instance.tokens_path(config)
        result = checked_load(port, instance, config, tokens, connections=2, seconds=1.0)
    assert result.requests > 10  # each on a new connection: the client reconnects
    assert (result.non_200, result.bad_bodies, result.socket_errors) == (0, 0, 0)


@pytest.mark.parametrize("auth", ["floor", "contract"])
@pytest.mark.parametrize(
    ("server", "app"), [("uvicorn", "starlette"), ("waitress", "flask")], ids=["asgi", "wsgi"]
)
def test_floor_middlewares_answer_their_tokens_user_and_refuse_forgeries(
    instance: Instance, server: str, app: str, auth: str
) -> None:
    # The floor rows are only a floor if the floor really verifies: its answers
    # are the token's user, and a token of another key gets a 401.
    pytest.importorskip(server)
    config = Config(server, app, auth, "same")
    forged = forged_tokens(instance, f"forged-{server}-{auth}", 1)
    with running(config, instance, "") as (port, _):
        good, bad = (
            checked_load(port, instance, config, tokens, connections=2, seconds=0.5)
            for tokens in (instance.tokens_path(config), forged)
        )
    assert good.requests > 10
    assert (good.non_200, good.bad_bodies, good.socket_errors) == (0, 0, 0)
    assert bad.requests > 0
    assert bad.non_200 == bad.requests

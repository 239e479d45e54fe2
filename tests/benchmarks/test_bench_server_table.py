"""The real-server benchmark's table: each ratio over the row it names."""

from __future__ import annotations

from tests.benchmarks.bench_server import Config, Measurement, Summary, table
from tests.benchmarks.bench_server_load import LoadResult


def summary(auth: str, tokens: str, requests: int, cpu_us: float) -> Summary:
    load = LoadResult(requests, 1.0, 0, 0, 0, 1000.0, 2000.0, "wrk")
    return Summary(
        Config("uvicorn", "starlette", auth, tokens),
        [Measurement(load, cpu_us, 0.0, repeated=False)],
    )


def test_ours_and_the_floors_are_compared_with_the_alternative_and_no_auth() -> None:
    printed = table(
        [
            summary("none", "same", 1000, 50.0),
            summary("floor", "same", 900, 60.0),
            summary("contract", "same", 800, 70.0),
            summary("ours", "same", 600, 90.0),
            summary("cba", "new", 300, 300.0),
        ]
    )
    rows = {
        cells[1]: cells
        for line in printed.splitlines()[2:]
        if (cells := [cell.strip() for cell in line.strip("|").split("|")])
    }
    # configuration: (x no auth, x alternative, +CPU µs, x alternative by CPU)
    expected = {
        "no auth": ("-", "-", "-", "-"),
        "floor, same token": ("0.90", "3.00", "+10", "5.00"),
        "contract floor, same token": ("0.80", "2.67", "+20", "4.29"),
        "ours, same token": ("0.60", "2.00", "+40", "3.33"),
        "clerk-backend-api (new token each request)": ("0.30", "-", "+250", "-"),
    }
    assert {name: (c[5], c[6], c[8], c[10]) for name, c in rows.items()} == expected

"""Parser benchmarks: run with `pytest bench/` (the default `pytest` run only
collects tests/). See the "Benchmarks" section of README.md."""

from pathlib import Path


def pytest_configure(config):
    # pytest-benchmark opens --benchmark-json=PATH as is; make its folder.
    json_path = config.getoption("benchmark_json", None)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)

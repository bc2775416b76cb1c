"""ruff and mypy, clean, with every test run: new code is linted and type-checked before it merges.

The rules live in ``pyproject.toml`` (``[tool.ruff]``, ``[tool.mypy]``): ruff catches real problems (unused and
undefined names, bugbear's traps, unsorted imports) without reformatting; mypy is strict on ``loop_engine`` and
``gateway/protocol`` and checks every function signature elsewhere.  Both tools come with the ``test`` extras;
without them these tests skip locally and fail under ``CI=true``, like a missing peer.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from peers import in_ci

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tool(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        message = "%s is not installed (pip install -e '.[test]')" % module
        if in_ci():
            pytest.fail(message + " and CI=true", pytrace=False)
        pytest.skip(message)


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_ruff_is_clean():
    _tool("ruff")
    res = _run(["ruff", "check", "--no-cache", "--output-format", "concise", "."], timeout=60)
    assert res.returncode == 0, "ruff check . found problems:\n" + res.stdout + res.stderr


@pytest.mark.skipif(sys.version_info < (3, 10), reason="mypy no longer checks for Python 3.9: the type check runs on 3.10+")
def test_mypy_is_clean():
    _tool("mypy")
    # mypy keeps its incremental cache in .mypy_cache (gitignored): a second run takes about a second.
    res = _run(["mypy"], timeout=300)
    assert res.returncode == 0, "mypy found problems:\n" + res.stdout + res.stderr

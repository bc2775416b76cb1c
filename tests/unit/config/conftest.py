"""Fixtures for the configuration tests: a fixed magic context and small ini files in tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable, Mapping

import pytest

from gateway.config import Config, MagicContext, load


@pytest.fixture
def context(tmp_path: Path) -> MagicContext:
    """Process facts as magic variables see them, fixed so tests can assert exact values."""
    return MagicContext(cwd=str(tmp_path), hostname="testhost", cpu_count=3,
                        uid=1000, gid=1001, user="alice", group="staff", now=1700000000.25)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write("app.ini", text)``: create a file under tmp_path (dedented) and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return _write


@pytest.fixture
def run(context: MagicContext) -> Callable[..., Config]:
    """``run(*argv, env={...})``: load() with the fixed context (cwd = tmp_path)."""

    def _run(*argv: str, env: Mapping[str, str] | None = None) -> Config:
        return load(list(argv), env or {}, context=context)

    return _run

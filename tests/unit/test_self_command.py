"""How gateway starts itself again: never with the working directory on sys.path."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway.self_command import self_command, without_cwd_on_path


def test_empty_pythonpath_entries_are_dropped():
    sep = os.pathsep
    assert without_cwd_on_path({"PYTHONPATH": "/a%s%s/b%s" % (sep, sep, sep), "X": "1"}) == {"PYTHONPATH": "/a%s/b" % sep,
                                                                                             "X": "1"}
    assert without_cwd_on_path({"PYTHONPATH": sep}) == {}
    assert without_cwd_on_path({"X": "1"}) == {"X": "1"}


def test_the_command_keeps_the_working_directory_off_sys_path(tmp_path):
    (tmp_path / "gateway_planted_probe.py").write_text("")
    code = "import sys; print('%s' in sys.path or '' in sys.path)" % tmp_path
    command = self_command()
    probe = [command[0], "-P", "-c", code] if "-P" in command else [command[0], "-c",
                                                                  "import sys; del sys.path[0]; " + code]
    out = subprocess.run(probe, cwd=tmp_path, capture_output=True, text=True, timeout=30,
                         env=without_cwd_on_path({"PYTHONPATH": os.pathsep, "PATH": os.environ.get("PATH", "")}))
    assert out.stdout.strip() == "False", out.stderr
    assert command[0] == sys.executable

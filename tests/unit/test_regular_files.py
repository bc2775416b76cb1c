"""gateway.regular_files: a path an app or a request names is opened without blocking, and
only a regular file is kept."""

import os
import threading

import pytest

from gateway.regular_files import NotRegularFile, open_regular


def test_a_regular_file_is_opened_with_its_stat(tmp_path):
    (tmp_path / "f").write_bytes(b"12345")
    fd, st = open_regular(str(tmp_path / "f"))
    try:
        assert st.st_size == 5 and os.read(fd, 10) == b"12345"
    finally:
        os.close(fd)


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_anything_else_is_refused_at_once_and_leaves_no_descriptor(tmp_path, kind):
    path = {"fifo": str(tmp_path / "p"), "directory": str(tmp_path), "device": "/dev/zero"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    before = len(os.listdir("/proc/self/fd"))
    result = []
    t = threading.Thread(target=lambda: result.append(pytest.raises(NotRegularFile, open_regular, path)))
    t.start()
    t.join(5)
    if t.is_alive():  # blocked in open(): let it go, then fail
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        t.join(5)
        pytest.fail("open_regular(%s) blocked" % kind)
    assert "not a regular file" in str(result[0].value)
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_missing_path_raises_the_open_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_regular(str(tmp_path / "missing"))

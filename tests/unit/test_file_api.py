"""``uwsgi.parsefile`` / ``uwsgi.extract`` (gateway.file_api), the stubs uWSGI answers without
the feature (legion, ``embedded_data``, ``offload``), ``install_mule_msg_hook`` and the
``@harakiri`` / ``@mstimer`` decorators."""

from __future__ import annotations

import sys

import pytest

from gateway import file_api, uwsgi_module
from gateway.protocol.uwsgi import encode_packet, encode_vars


def packet(pairs, modifier1=0):
    return encode_packet(modifier1, encode_vars(pairs))


def test_parse_packet_vars_gives_a_dict_of_bytes():
    data = packet([("a", "1"), (b"empty", b""), ("a", "2")])
    assert file_api.parse_packet_vars(data) == {b"a": b"2", b"empty": b""}  # a later key wins
    assert file_api.parse_packet_vars(data + b"trailing body") == {b"a": b"2", b"empty": b""}
    assert file_api.parse_packet_vars(packet([("k", "v")], 17)) == {b"k": b"v"}  # a spooler file


@pytest.mark.parametrize("data", [
    b"", b"\x00\x05", packet([("k", "v")])[:-1],  # truncated header / block
    packet([("k", "v")], 173),  # not a vars packet
    b"\x00\x03\x00\x00\x01\x00k",  # a key without its value length
    b"\x00\x04\x00\x00\x00\x00\x00\x00",  # an empty key
])
def test_parse_packet_vars_refuses_what_uwsgi_refuses(data):
    assert file_api.parse_packet_vars(data) is None


def test_parsefile_and_extract_read_files(tmp_path):
    job = tmp_path / "job"
    job.write_bytes(packet([("ud_spool_func", "f"), ("x", "y")], 17))
    assert file_api.parsefile(str(job)) == {b"ud_spool_func": b"f", b"x": b"y"}
    assert file_api.parsefile(bytes(job)) == {b"ud_spool_func": b"f", b"x": b"y"}
    (tmp_path / "junk").write_bytes(b"GET / HTTP/1.1\r\n")
    assert file_api.parsefile(str(tmp_path / "junk")) is None
    assert file_api.parsefile(str(tmp_path / "missing")) is None
    (tmp_path / "motd").write_bytes(b"hello\x00world")
    assert file_api.extract(str(tmp_path / "motd")) == b"hello\x00world"
    (tmp_path / "empty").write_bytes(b"")
    assert file_api.extract(str(tmp_path / "empty")) is None  # uWSGI: None for an empty file
    assert file_api.extract(str(tmp_path / "missing")) is None
    assert file_api.extract("http://127.0.0.1/x") is None
    with pytest.raises(TypeError):
        file_api.extract(3)


def test_extract_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(file_api, "EXTRACT_MAX", 4)
    (tmp_path / "big").write_bytes(b"12345")
    with pytest.raises(ValueError, match="over 4 bytes"):
        file_api.extract(str(tmp_path / "big"))


def test_what_uwsgi_answers_without_the_feature():
    assert uwsgi_module.i_am_the_lord("mylegion") is False
    assert uwsgi_module.lord_scroll("mylegion") is None
    assert uwsgi_module.scrolls(b"mylegion") is None
    with pytest.raises(TypeError):
        uwsgi_module.i_am_the_lord(None)
    with pytest.raises(ValueError, match="unable to find symbol foo"):
        uwsgi_module.embedded_data("foo")
    assert uwsgi_module.offload("/etc/hosts", 10) == b""


def test_install_mule_msg_hook_runs_after_the_hook(monkeypatch, expect_log):
    from types import SimpleNamespace

    from gateway.mules.process import MuleRuntime

    got = []
    monkeypatch.setattr(uwsgi_module, "mule_msg_extra_hooks", [])
    monkeypatch.setattr(uwsgi_module, "mule_msg_hook", lambda m: got.append(("hook", m)))
    assert uwsgi_module.install_mule_msg_hook(lambda m: got.append(("extra1", m))) is None

    def broken(m):
        raise RuntimeError("logged, the next hook still runs")

    uwsgi_module.install_mule_msg_hook(broken)
    uwsgi_module.install_mule_msg_hook(lambda m: got.append(("extra2", m)))
    with expect_log("gateway.app", "error in uwsgi.mule_msg_hook"):
        MuleRuntime.dispatch(SimpleNamespace(mid=1), b"msg")  # type: ignore[arg-type]
    assert got == [("hook", b"msg"), ("extra1", b"msg"), ("extra2", b"msg")]
    got.clear()
    monkeypatch.setattr(uwsgi_module, "mule_msg_hook", None)
    with expect_log("gateway.app", "error in uwsgi.mule_msg_hook"):
        MuleRuntime.dispatch(SimpleNamespace(mid=1), b"m2")  # type: ignore[arg-type]
    assert got == [("extra1", b"m2"), ("extra2", b"m2")]


@pytest.fixture
def decorators(monkeypatch):
    calls = []

    class FakeUwsgi:
        def set_user_harakiri(self, s):
            calls.append(("harakiri", s))

        def signal_registered(self, n):
            return n < 3

        def register_signal(self, n, target, f):
            calls.append(("register", n, target, f.__name__))

        def add_ms_timer(self, n, ms):
            calls.append(("ms_timer", n, ms))

    monkeypatch.setitem(sys.modules, "uwsgi", FakeUwsgi())
    monkeypatch.delitem(sys.modules, "gateway.uwsgidecorators", raising=False)
    import gateway.uwsgidecorators as ud

    yield ud, calls
    sys.modules.pop("gateway.uwsgidecorators", None)


def test_harakiri_decorator_arms_and_clears_user_harakiri(decorators):
    ud, calls = decorators

    @ud.harakiri(7)
    def work(a, b=0):
        calls.append(("work", a, b))
        return a + b

    assert work(1, b=2) == 3
    assert calls == [("harakiri", 7), ("work", 1, 2), ("harakiri", 0)]


def test_harakiri_decorator_clears_user_harakiri_when_the_call_raises(decorators):
    # a mule's loop catches the exception and goes on: an armed harakiri would kill it idle later
    ud, calls = decorators

    @ud.harakiri(7)
    def work():
        raise KeyError("x")

    with pytest.raises(KeyError):
        work()
    assert calls == [("harakiri", 7), ("harakiri", 0)]


def test_mstimer_registers_a_free_signal(decorators):
    ud, calls = decorators

    @ud.mstimer(250)
    def tick(signum):
        pass

    assert calls == [("register", 3, "", "tick"), ("ms_timer", 3, 250)]

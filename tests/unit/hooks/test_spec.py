"""Hook specs parsed and checked as the options are read: every action gateway runs, the
ones it refuses by name, and the argument shapes uWSGI's actions expect."""

from __future__ import annotations

import pytest

from gateway.hooks import actions, spec
from gateway.hooks.spec import Hook, HookSyntaxError, parse_hook, parse_mode, parse_touch, split_chown


def test_action_and_arguments_split_at_the_first_colon_and_keep_the_rest_as_written():
    assert parse_hook("exec:echo a:b  c") == Hook("exec", "echo a:b  c", "exec:echo a:b  c", False)
    assert parse_hook("write:/tmp/f text: with colon").args == "/tmp/f text: with colon"
    assert parse_hook("print:") == Hook("print", "", "print:", False)


def test_a_leading_bang_makes_a_private_hook_whose_text_is_never_shown():
    hook = parse_hook("!putenv:DB_PASSWORD=secret")
    assert hook == Hook("putenv", "DB_PASSWORD=secret", "putenv:DB_PASSWORD=secret", True)
    assert hook.shown() == "--- PRIVATE HOOK ---"
    assert parse_hook("putenv:A=1").shown() == '"putenv:A=1"'


def test_the_parser_and_the_runner_know_the_same_actions():
    assert set(spec.ACTIONS) == set(actions.ACTIONS)
    assert not set(spec.ACTIONS) & set(spec.REFUSED)


@pytest.mark.parametrize("text, message", [
    ("mkdir /tmp/x", "is not a hook: it must be ACTION:ARGS"),
    ("frobnicate:x", "unknown hook action 'frobnicate'"),
    ("call:uwsgi_foo", "the hook action 'call' is not supported: it calls a C function"),
    ("callret:f 1", "the hook action 'callret' is not supported"),
    ("callint:f 1", "the hook action 'callint' is not supported"),
    ("unix_signal:15 f", "as a signal handler"),
    ("mount:tmpfs none /mnt", "the hook action 'mount' is not supported: mounting filesystems"),
    ("umount:/mnt", "the hook action 'umount' is not supported"),
    ("!call:f", "the hook action 'call' is not supported"),
    ("alarm:mine", "takes alarm:NAME MESSAGE"),
    ("perl:print 1", "from a uWSGI plugin gateway does not have"),
    ("write:/tmp/only-a-file", "takes write:FILE TEXT"),
    ("writefifo:/tmp/fifo", "takes writefifo:FIFO TEXT"),
    ("append: text", "takes append:FILE TEXT"),
    ("mkdir:", "the hook action 'mkdir' needs an argument: mkdir:DIR"),
    ("exec:", "needs an argument: exec:COMMAND"),
    ("chmod:/tmp/f", "takes chmod:FILE MODE"),
    ("chmod:/tmp/f 999", "chmod mode '999' is not octal permissions"),
    ("chmod:/tmp/f rwx", "is not octal permissions"),
    ("chown:/tmp/f www-data", "takes chown:FILE USER GROUP"),
    ("chown2:/tmp/f www data", "takes numbers"),
    ("exit:one", "takes an exit code"),
    ("rpc:'unbalanced", "No closing quotation"),
    ("rpc:@node:3031", "takes rpc:FUNC[@NODE]"),
    ("rpc:f@127.0.0.1:notaport", "the hook action 'rpc': bad node address '127.0.0.1:notaport'"),
    ("retryrpc:f@host:0 a", "the hook action 'retryrpc': bad node address 'host:0'"),
    ("rpc:f@[::1]:70000", "bad node address '[::1]:70000'"),
])
def test_what_cannot_run_is_refused_with_the_action_named(text, message):
    with pytest.raises(HookSyntaxError) as info:
        parse_hook(text)
    assert message in str(info.value)


@pytest.mark.parametrize("text", [
    "cd:/srv", "chdir:/srv", "mkdir:/run/app", "putenv:A=1", "putenv:A", "chmod:/run/app 0775",
    "chmod:/run/app 644", "chown:/run/app www-data www-data", "chown2:/run/app 33 33", "sticky:/tmp/d",
    "exec:true", "safeexec:false", "create:/tmp/f", "creat:/tmp/f", "write:/tmp/f hello world",
    "writen:/tmp/f x", "append:/tmp/f x", "appendn:/tmp/f", "appendn:/tmp/f x", "writefifo:/tmp/p x",
    "spinningfifo:/tmp/p x", "unlink:/tmp/f", "hostname:box", "rpc:hello", "rpc:hello@127.0.0.1:3031 a 'b c'",
    "rpc:hello@:3031", "rpc:hello@/run/rpc.sock", "rpc:hello@@abstract", "rpc:hello@[::1]:3031",
    "retryrpc:hello@127.0.0.1:3031", "wait_for_fs:/mnt/x", "wait_for_file:/f", "wait_for_dir:/d",
    "wait_for_socket:127.0.0.1:3031", "exit:", "exit:3", "print:hello", "log:", "write:/tmp/f ",
])
def test_the_forms_uwsgi_users_write_are_accepted(text):
    assert parse_hook(text).action == text.split(":", 1)[0]


def test_touch_hooks_take_a_file_then_the_hook():
    path, hook = parse_touch("/tmp/trigger exec:echo touched")
    assert path == "/tmp/trigger" and hook == parse_hook("exec:echo touched")
    with pytest.raises(HookSyntaxError, match="must be FILE ACTION:ARGS"):
        parse_touch("/tmp/trigger")
    with pytest.raises(HookSyntaxError, match="unknown hook action 'nope'"):
        parse_touch("/tmp/trigger nope:x")


def test_modes_and_chown_arguments():
    assert parse_mode("644") == 0o644 and parse_mode("0755") == 0o755
    assert split_chown("/f www-data adm") == ("/f", "www-data", "adm")

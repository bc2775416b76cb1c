"""How ``--uid``/``--gid``/``--add-gid``/``--no-initgroups`` resolve into an identity (as root:
``os.geteuid`` is faked, nothing is switched), and ``--force-cwd`` reaching the binary reload."""

from __future__ import annotations

import os

import pytest

from gateway.process import privileges
from gateway.process.privileges import PrivilegeError, resolve_identity


@pytest.fixture
def as_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(os, "getgrouplist", lambda name, gid: [gid, 100, 20, 100] if name == "nobody" else [gid])


def test_a_user_gets_its_groups_from_etc_group(as_root):
    ident = resolve_identity("nobody", None)
    assert (ident.uid, ident.gid, ident.groups) == (65534, 65534, [20, 100, 65534])


def test_no_initgroups_and_group_alone_give_no_supplementary_group(as_root):
    assert resolve_identity("nobody", None, initgroups=False).groups == []
    ident = resolve_identity(None, "nogroup")
    assert (ident.uid, ident.gid, ident.groups) == (-1, 65534, [])


def test_add_gid_replaces_the_groups_as_uwsgi_does(as_root):
    ident = resolve_identity("nobody", "nogroup", add_gids=["users", "1"])
    assert (ident.gid, ident.groups) == (65534, [100, 1])
    with pytest.raises(PrivilegeError, match="^--add-gid nope-group: no such group$"):
        resolve_identity("nobody", None, add_gids=["nope-group"])


def test_a_numeric_uid_without_a_passwd_entry_keeps_its_group_only(as_root):
    ident = resolve_identity("54321", "nogroup")
    assert (ident.uid, ident.gid, ident.groups) == (54321, 65534, [65534])


def test_without_root_the_groups_are_left_alone(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert resolve_identity("nobody", None).groups is None


def test_chroot_without_root_is_refused_before_anything(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(privileges, "preload", lambda everything=False: pytest.fail("preloaded"))
    with pytest.raises(PrivilegeError, match="^--chroot /srv: cannot chroot\\(\\) as non-root user$"):
        privileges.drop(None, None, None, chroot="/srv")


def test_force_cwd_is_where_a_binary_reload_returns(tmp_path, monkeypatch):
    from gateway import cli
    from gateway.config import load
    from gateway.emperor import reexec

    monkeypatch.setattr(reexec, "ORIGIN", reexec.Origin(cwd="/started/here"))
    cli._immediate_actions(load(["--force-cwd", str(tmp_path)], {}))
    assert reexec.ORIGIN.cwd == str(tmp_path)

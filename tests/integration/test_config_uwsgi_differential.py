"""The same configurations resolved by real uWSGI 2.0.31 and by gateway must give the same options.

uWSGI resolves a configuration without serving: ``uwsgi ARGS --show-config`` logs the resolved
options (every exported entry, in order, placeholders included: what ``uwsgi.opt`` is built from)
and, with no socket and stdin not a socket, exits at once (``The -s/--socket option is
missing``). Each case runs it in a directory of its own config files (about 20 ms); gateway
resolves the same arguments and environment in-process (``load`` and ``--show-config``'s
``format_config``). The cases cover ini files (sections, placeholders, magic variables,
``$(ENV)``, ``@(file)``, ``@(exec://)``, placeholder arithmetic, ``set``/``set-ph``,
includes, logic blocks and loops, comments, repeated keys), ``UWSGI_*`` variables, YAML and XML
files, the command line and how it mixes with files, and errors. The real uWSGI here is built
without JSON support, so JSON files are covered by ``tests/unit/config`` only.

Left out on purpose (documented differences, README "Options"): ``$(VAR:-default)``,
``else``, ``inherit`` files taking part in the placeholder passes, ``set-ph`` values expanded,
a reference rescanned from its first character, ``%b``, and ``uwsgi.opt`` lists (see the last
test).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from typing import Dict, List, Optional, Sequence

import pytest

from gateway.commands import format_config
from gateway.config import ConfigError, MagicContext, load
from peers import require_uwsgi

pytestmark = pytest.mark.timeout(120)

_BLOCK = re.compile(r";uWSGI instance configuration\n\[uwsgi\]\n(.*?);end of configuration", re.S)


def _lines(text: str) -> Optional[List[str]]:
    """The ``key = value`` lines of a ``--show-config`` block (without ``show-config`` itself)."""
    found = _BLOCK.search(text)
    if found is None:
        return None
    return [line for line in found.group(1).split("\n")[:-1] if line != "show-config = true"]


def uwsgi_resolves(binary: str, cwd: str, argv: Sequence[str], env: Dict[str, str]):
    """(lines, output) of real uWSGI's ``--show-config``; lines is None when it failed first."""
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    done = subprocess.run([binary, *argv, "--show-config"], cwd=cwd, env=environ, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, check=False)
    output = done.stdout.decode("utf-8", "replace")
    return _lines(output), output


def gateway_resolves(cwd: str, argv: Sequence[str], env: Dict[str, str]) -> List[str]:
    config = load([*argv, "--show-config"], dict(env), context=MagicContext.from_system(cwd))
    lines = _lines(format_config(config))
    assert lines is not None
    return lines


def _case(name: str, files: Dict[str, str], argv: List[str], env: Optional[Dict[str, str]] = None):
    return pytest.param(files, argv, env or {}, id=name)


MAGIC = """
    [uwsgi]
    d = %d
    n = %n
    c = %c
    p = %p
    s = %s
    e = %e
    x = [%x]
    o = %o
    v = %v
    h = %h
    k = %k
    z = %0/%1/%2/%9
    pct = 100%% and %q gone
    j = %j
    i = %i
    u = %u %U %g %G
    V = %V
    """

#: (condition, the line it guards, the key that ends it): one block each, with ``%(_)`` in most
_CONDITIONS = [
    ("if-env = FOO", "a = %(_)", "endif"), ("if-env = NOPE", "b = 1", "endif"),
    ("if-not-env = NOPE", "c = %(_)", "endif"), ("if-env = FOO=foo", "d = %(_)", "end-if"),
    ("if-not-env = FOO=bar", "e = %(_)", "endif"), ("if-env = EMPTY", "f = [%(_)]", "endif"),
    ("if-exists = a.ini", "g = %(_)", "endif"), ("if-file = sub", "h = 1", "endif"),
    ("ifdir = sub", "i = %(_)", "endif"), ("if-not-file = nope", "j = %(_)", "endif"),
    ("if-opt = processes=4", "k = %(_)", "endif"), ("if-opt = workers", "l = 1", "endif"),
    ("if-not-opt = threads", "m = %(_)", "endif"), ("if-not-reload =", "n = %(_)", "end"),
]
IF_BLOCKS = "[uwsgi]\nprocesses = 4\n" + "".join("%s\n%s\n%s =\n" % block for block in _CONDITIONS)

CASES = [
    _case("placeholders", {"a.ini": """
        [uwsgi]
        foo = bar
        processes = 2
        baz = %(foo)-x
        later = %(after)
        after = set later
        threads = %(processes)
        nothere = %(missing)
        """}, ["--ini", "a.ini"]),
    _case("sections", {"a.ini": """
        [uwsgi]
        foo = main
        [dev]
        foo = dev
        bar = %x
        [uwsgi]
        again = 1
        """}, ["--ini", "a.ini:dev", "--ini", "a.ini", "--ini", ":dev"]),
    _case("magic variables", {"sub/dir/a.b.ini": MAGIC}, ["--ini", "sub/dir/a.b.ini"]),
    _case("uppercase magic is the first file's", {"a.ini": "[uwsgi]\nini = conf/b.ini:dev\n", "conf/b.ini": """
        [dev]
        mine = %n %x %o
        first = %N [%X] %O %C %S %E %D %P %J %I
        """}, ["--ini", "a.ini"]),
    _case("include never makes the first file", {"a.ini": "[uwsgi]\nfirst = [%N]\n", "b.ini": "[uwsgi]\nb = [%N]\n",
                                                  "c.ini": "[uwsgi]\nc = [%N]\ninclude = a.ini\n"},
          ["--include", "a.ini", "--ini", "b.ini", "--ini", "c.ini"]),
    _case("an unknown magic letter and a % ending a line", {"a.ini": "[uwsgi]\nx = 50%\ny = 2\nz = %(x)%w\n"},
          ["--ini", "a.ini"]),
    _case("environment references", {"a.ini": """
        [uwsgi]
        a = $(FOO)
        b = $(MISSING)
        c = x$(FOO)y$(FOO)
        d = [$(EMPTY)]
        e = x$(A$(B))
        """}, ["--ini", "a.ini"], {"FOO": "foo", "EMPTY": "", "B": "1", "A1": "nested"}),
    _case("file and command references", {"a.ini": """
        [uwsgi]
        a = @(v.txt)
        b = x@(conf/two.txt)y
        c = @(%dv.txt)
        d = @(exec://echo hi)
        e = [@(exec://printf 'a b')]
        """, "v.txt": "hello\n", "conf/two.txt": "two\nlines\n"}, ["--ini", "a.ini"]),
    _case("placeholder arithmetic and nesting", {"a.ini": """
        [uwsgi]
        a = 2
        b = 3
        n = b
        c = %(a + b)
        d = %(a b)
        e = %(a * 10)
        f = %(b / 0)
        g = %(a ++)
        h = %(nope + 1)
        i = %(a - b - 1)
        k = x%(%(n))
        """}, ["--ini", "a.ini"]),
    _case("set and set-placeholder", {"a.ini": """
        [uwsgi]
        set-placeholder = a=1
        set-ph = b=2
        set = c=3
        set = processes=3
        x = %(a)%(b)%(c)
        """}, ["--ini", "a.ini", "--set", "d=4", "--set-ph", "e=5", "--set", "f=%(d)%(e)"]),
    _case("repeated keys, comments, blanks and booleans", {"a.ini": """
        # comment
        ; comment
        [uwsgi]
        env = A=1
        env = B=2
        foo = 1
        foo = 2
        bar = %(foo)
        # c
          ; c
        a = 1 ; not a comment
        b = 2 # not a comment
          c  =   spaced value
        d=4
        e =
        f
        g = "quoted"
        h = x = y
        master = true
        vacuum = yes
        enable_threads = 1
        lazy-apps = false
        my_var = %(e)
        x==y
        """}, ["--ini", "a.ini"]),
    _case("crlf and no final newline", {"a.ini": "[uwsgi]\r\nx = 1\r\ny = 2"}, ["--ini", "a.ini"]),
    _case("includes", {"a.ini": """
        [uwsgi]
        a = 1
        ini = b.ini
        c = %(b)
        include = conf/c.ini
        ini = :other
        """, "b.ini": "[uwsgi]\nb = from-b\nini = conf/c.ini:other\n[other]\nmine = %x\n",
        "conf/c.ini": "[uwsgi]\nx = %c\n[other]\ncc = %x-%n\nini = %dd.ini\n", "conf/d.ini": "[uwsgi]\nd = %o\n"},
        ["--ini", "a.ini"]),
    _case("if blocks", {"a.ini": IF_BLOCKS, "sub/x": ""}, ["--ini", "a.ini"], {"FOO": "foo", "EMPTY": ""}),
    _case("loops", {"a.ini": """
        [uwsgi]
        for = a b  c
        env = X_%(_)=1
        endfor =
        for-glob = d/*
        g = %(_)
        endfor =
        for-times = 3
        t = %(_)
        end-for =
        for-readline = lines.txt
        r = [%(_)]
        endfor =
        for-glob = nomatch*
        n = %(_)
        endfor
        """, "lines.txt": "one\n\n two \nthree", "d/f1": "", "d/sub/x": ""}, ["--ini", "a.ini"]),
    _case("logic on the command line", {}, ["--if-env", "FOO", "--processes", "2", "--endif"], {"FOO": "1"}),
    _case("custom options", {"a.ini": """
        [uwsgi]
        declare-option = mytimeouts=socket-timeout=$1;harakiri=$2
        mytimeouts = 10 20
        """}, ["--ini", "a.ini"]),
    _case("UWSGI_ variables", {"a.ini": "[uwsgi]\nprocesses = 3\nx = %(foo-bar)\n"}, ["--threads", "2"],
          {"UWSGI_INI": "a.ini", "UWSGI_PROCESSES": "2", "UWSGI_FOO_BAR": "x", "UWSGI_ENABLE_THREADS": "1",
           "UWSGI_HARAKIRI": "$(N)", "N": "30"}),
    _case("UWSGI_INI with a section", {"a.ini": "[dev]\nx = %x\n"}, [], {"UWSGI_INI": "a.ini:dev"}),
    _case("command line and files", {"a.ini": "[uwsgi]\nprocesses = 2\na = 1\n", "b.ini": "[uwsgi]\nb = %(a)\n"},
          ["--processes", "5", "--ini", "a.ini", "--ini", "b.ini", "--processes=6", "-T", "--master", "-p", "7",
           "--env", "X=$(FOO)", "--set", "p=%(processes)"], {"FOO": "foo"}),
    _case("a lone config file argument", {"a.ini": "[uwsgi]\nfoo = %n\n"}, ["a.ini"]),
    _case("yaml", {"a.yaml": "uwsgi:\n  processes: 2\n  master: true\n  env: A=1\n  env: B=2\n  foo: %n [%x]\n"
                              "  c: value # comment\ndev:\n  y: %x\n"},
          ["--yaml", "a.yaml", "--yaml", "a.yaml:dev"]),
    _case("xml", {"a.xml": "<uwsgi>\n  <processes>2</processes>\n  <master/>\n  <env>A=1</env>\n  <env>B=2</env>\n"
                           "  <foo>%n [%x]</foo>\n</uwsgi>\n",
                  "b.xml": "<all><uwsgi id='dev'><x>%x</x></uwsgi><uwsgi><y>%x</y></uwsgi></all>"},
          ["--xml", "a.xml", "b.xml"]),
    _case("strict allows set-placeholder and resolve", {"a.ini": """
        [uwsgi]
        strict = true
        set-ph = a=1
        resolve = h=localhost
        set = processes=%(a)
        declare-option = mine=threads=$1
        mine = 2
        """}, ["--ini", "a.ini"]),
    _case("a section not in the file", {"a.ini": "[uwsgi]\nfoo = 1\n"}, ["--ini", "a.ini:nosuch", "--ini", "a.ini:"]),
]


@pytest.fixture(scope="module")
def uwsgi_binary() -> str:
    return require_uwsgi()


def _write(root, files: Dict[str, str]) -> str:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(root)


@pytest.mark.parametrize("files, argv, env", CASES)
def test_gateway_resolves_a_configuration_as_uwsgi(uwsgi_binary, tmp_path, files, argv, env):
    cwd = _write(tmp_path, files)
    expected, output = uwsgi_resolves(uwsgi_binary, cwd, argv, env)
    assert expected is not None, output
    assert gateway_resolves(cwd, argv, env) == expected


ERRORS = [
    _case("unknown option", {}, ["--nosuchopt", "1"]),
    _case("missing file", {}, ["--ini", "nope.ini"]),
    _case("missing included file", {"a.ini": "[uwsgi]\nini = nope.ini\n"}, ["--ini", "a.ini"]),
    _case("missing @(file)", {"a.ini": "[uwsgi]\nx = @(nope.txt)\n"}, ["--ini", "a.ini"]),
    _case("strict refuses a placeholder", {"a.ini": "[uwsgi]\nstrict = true\nfoo = 1\n"}, ["--ini", "a.ini"]),
    _case("strict refuses a placeholder given before it", {"a.ini": "[uwsgi]\nfoo = 1\nstrict = true\n"},
          ["--ini", "a.ini"]),
    _case("strict refuses an UWSGI_ placeholder", {}, ["--strict"], {"UWSGI_FOO": "1"}),
    _case("strict refuses a plain set placeholder", {}, ["--strict", "--set", "foo=1"]),
    _case("set-ph of an option", {}, ["--set-ph", "processes=2"]),
    _case("nested logic", {"a.ini": "[uwsgi]\nif-env = PATH\nif-env = PATH\nendif =\n"}, ["--ini", "a.ini"]),
    _case("blacklisted option", {"a.ini": "[uwsgi]\nblacklist = processes\nprocesses = 2\n"}, ["--ini", "a.ini"]),
]


@pytest.mark.parametrize("files, argv, env", ERRORS)
def test_gateway_refuses_what_uwsgi_refuses(uwsgi_binary, tmp_path, files, argv, env):
    cwd = _write(tmp_path, files)
    lines, output = uwsgi_resolves(uwsgi_binary, cwd, argv, env)
    assert lines is None, output
    with pytest.raises(ConfigError):
        gateway_resolves(cwd, argv, env)


DUMP_OPT = """\
import json, uwsgi
def text(value):
    if isinstance(value, list):
        return [text(item) for item in value]
    return value.decode() if isinstance(value, bytes) else value
print("OPT=" + json.dumps({key: text(value) for key, value in uwsgi.opt.items()}))
"""


def test_uwsgi_opt_as_uwsgi_and_its_repeats_as_lists(uwsgi_binary, tmp_path):
    """``uwsgi.opt`` itself (``--pyrun`` a script that prints it): the same keys and values, bytes
    and True as in uWSGI; a repeated option is a list here, where uWSGI 2.0 on Python 3 keeps
    only its last value (its check for a key already there looks for a bytes key among str
    keys): the documented difference."""
    cwd = _write(tmp_path, {"dump.py": DUMP_OPT, "a.ini": "[uwsgi]\nfoo = %n\nenv = A=1\nenv = B=2\n"})
    argv = ["--ini", "a.ini", "--vacuum", "--set", "bar=%(foo)", "--pyrun", "dump.py"]
    done = subprocess.run([uwsgi_binary, *argv], cwd=cwd, env={"PATH": os.environ.get("PATH", "")},
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=30, check=False)
    found = re.search(r"^OPT=(.*)$", done.stdout.decode(), re.M)
    assert found, done.stdout.decode()
    theirs = json.loads(found.group(1))
    ours = load(argv, {}, context=MagicContext.from_system(cwd)).uwsgi_opt()
    assert ours["env"] == [b"A=1", b"B=2"] and theirs["env"] == "B=2"
    ours["env"] = ours["env"][-1]
    assert {key: value if value is True else value.decode() for key, value in ours.items()} == theirs
    assert theirs["vacuum"] is True and theirs["bar"] == "a"

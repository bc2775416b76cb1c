"""load() with JSON, YAML and XML files: the loader options, lone file arguments, include/config/inherit.

The fixtures in ``fixtures/`` hold one configuration written in each format; read
through any of them, it must resolve to the same options.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.config import ConfigError, load

FIXTURES = Path(__file__).parent / "fixtures"
ENV = {"APP_CALLABLE": "app"}


@pytest.mark.parametrize("args", [
    ["--ini", "app.ini"], ["--json", "app.json"], ["--js", "app.json"], ["-j", "app.json"],
    ["--yaml", "app.yaml"], ["--yml", "app.yaml"], ["-y", "app.yaml"],
    ["--xml", "app.xml"], ["--xmlconfig", "app.xml"], ["-x", "app.xml"],
    ["app.json"], ["app.yaml"], ["app.xml"],
    ["--include", "app.json"], ["--config", "app.yaml"], ["--inherit", "app.xml"],
])
def test_one_configuration_in_every_format_resolves_the_same(args, context):
    fixture = args[-1]
    args = [*args[:-1], str(FIXTURES / fixture)]
    config = load(args, ENV, context=context)
    directory = os.path.realpath(FIXTURES) + "/"
    assert config.http_socket == [":9090"]
    assert config.processes == 2
    assert config.master is True
    assert config.lazy_apps is False
    stem, extension = fixture.rsplit(".", 1)
    assert config.env == ["A=1", f"NAME={stem}", f"EXT={extension}"]  # magic variables of each file
    assert config.chdir == directory
    assert config.callable == "app"                 # $(ENV), expanded after every source is in
    assert config.wsgi_file == "site/wsgi.py"       # %(placeholder) from the same file
    assert config.placeholders["base"] == "site"
    assert config.warnings == ()


@pytest.mark.parametrize("spec", ["app.ini:dev", "app.json:dev", "app.yaml:dev", "app.xml:dev"])
def test_a_section_is_selected_after_the_last_colon(spec, context):
    assert load([str(FIXTURES / spec)], ENV, context=context).http_socket == [":8080"]


def test_origins_name_the_file_and_line_or_key(run, write):
    write("a.yaml", "uwsgi:\n  processes: lots\n")
    with pytest.raises(ConfigError, match=r"expects an integer, got 'lots' \(from a\.yaml line 2\)$"):
        run("a.yaml")
    write("a.json", '{"uwsgi": {"processes": "lots"}}')
    with pytest.raises(ConfigError, match=r"got 'lots' \(from a\.json key 'processes'\)$"):
        run("a.json")
    write("a.xml", "<uwsgi>\n<processes>lots</processes></uwsgi>")
    with pytest.raises(ConfigError, match=r"got 'lots' \(from a\.xml line 2\)$"):
        run("--xml", "a.xml")


def test_a_json_false_turns_a_flag_off_after_an_earlier_true(run, write):
    write("a.json", '{"uwsgi": {"master": false}}')
    assert run("--master", "--json", "a.json").master is False
    assert run("--json", "a.json", "--master").master is True


def test_files_nest_through_the_shared_mechanism_in_place(run, write, tmp_path):
    # ini -> json -> yaml -> xml, each inserted where its key stands
    write("conf/d.xml", "<uwsgi><env>D=xml</env></uwsgi>")
    write("conf/c.yaml", "uwsgi:\n  env: C=yaml\n  xml: %dd.xml\n  env: C2=yaml\n")
    write("conf/b.json", '{"uwsgi": {"env": "B=json", "yaml": "%dc.yaml", "include": "%dd.xml"}}')
    write("conf/a.ini", "[uwsgi]\nenv = A=ini\njson = %db.json\nenv = A2=ini\n")
    config = run("conf/a.ini")
    assert config.env == ["A=ini", "B=json", "C=yaml", "D=xml", "C2=yaml", "D=xml", "A2=ini"]
    conf = os.path.realpath(tmp_path / "conf")
    assert config.json == [f"{conf}/b.json"]  # %d was replaced as the file was read


def test_the_include_path_may_use_environment_and_earlier_placeholders(run, write):
    write("conf/base.yaml", "uwsgi:\n  callable: base\n")
    write("app.json", '{"uwsgi": {"confdir": "conf", "include": "%(confdir)/base.yaml"}}')
    assert run("app.json").callable == "base"
    assert run("--include", "$(CONF)/base.yaml", env={"CONF": "conf"}).callable == "base"


def test_uwsgi_variables_name_config_files_too(run, write):
    write("a.yaml", "uwsgi:\n  env: FROM=yaml\n")
    write("b.json", '{"uwsgi": {"env": "FROM=json"}}')
    config = run("--env", "FROM=argv", env={"UWSGI_YAML": "a.yaml", "UWSGI_INCLUDE": "b.json"})
    assert config.env == ["FROM=yaml", "FROM=json", "FROM=argv"]  # the environment comes first


def test_include_and_config_choose_the_format_by_extension(run, write):
    write("a.JSON", '{"uwsgi": {"callable": "json"}}')
    write("b.yml", "uwsgi:\n  callable: yml\n")
    write("c.js", '{"uwsgi": {"callable": "js"}}')
    assert run("--include", "a.JSON").callable == "json"
    assert run("--config", "b.yml").callable == "yml"
    assert run("--include", "c.js").callable == "js"


def test_an_unknown_extension_is_an_error_naming_the_option(run, write):
    write("app.conf", "[uwsgi]\n")
    with pytest.raises(ConfigError, match=r"^option '--include' cannot tell the format of 'app\.conf': the "
                                          r"file name must end in \.ini, \.xml, \.yaml, \.yml, \.json, \.js$"):
        run("--include", "app.conf")
    write("app.ini", "[uwsgi]\nconfig = app.conf\n")
    with pytest.raises(ConfigError, match=r"^option 'config' cannot tell .* \(from app\.ini line 2\)$"):
        run("app.ini")


def test_inherit_comes_after_every_other_source_in_order(run, write):
    write("base.yaml", "uwsgi:\n  callable: from-base\n  env: BASE=1\n  inherit: more.json\n")
    write("more.json", '{"uwsgi": {"env": "MORE=1"}}')
    write("other.ini", "[uwsgi]\nenv = OTHER=1\n")
    write("app.ini", "[uwsgi]\ninherit = base.yaml\ncallable = from-app\nenv = APP=1\ninherit = other.ini\n")
    config = run("app.ini", "--env", "ARGV=1")
    # argv, then app.ini, then the inherited files in order (and what they inherit, last)
    assert config.env == ["ARGV=1", "APP=1", "BASE=1", "OTHER=1", "MORE=1"]
    assert config.callable == "from-base"  # applied last, so it wins, as in uWSGI


def test_cycles_across_formats_are_errors(run, write):
    write("a.json", '{"uwsgi": {"yaml": "b.yaml"}}')
    write("b.yaml", "uwsgi:\n  include: a.json\n")
    with pytest.raises(ConfigError, match=r"^config file include cycle: .*a\.json -> .*b\.yaml -> .*a\.json$"):
        run("a.json")
    write("i.ini", "[uwsgi]\ninherit = i.ini\n")
    with pytest.raises(ConfigError, match=r"^config file include cycle: .*i\.ini -> .*i\.ini$"):
        run("i.ini")


def test_nesting_depth_is_bounded_across_formats(context, write):
    for i in range(4):
        write(f"n{i}.json", f'{{"uwsgi": {{"include": "n{i + 1}.yaml"}}}}')
        write(f"n{i + 1}.yaml", f"uwsgi:\n  json: n{i + 1}.json\n")
    write("n4.json", '{"uwsgi": {"callable": "deep"}}')
    assert load(["n0.json"], {}, context=context).callable == "deep"
    with pytest.raises(ConfigError, match="^config files nested more than 3 deep at 'n2.yaml'"):
        load(["n0.json"], {}, context=context, max_include_depth=3)


def test_colon_section_alone_reuses_the_previous_file_of_that_format(run, write):
    write("app.yaml", "uwsgi:\n  yaml: :dev\n  callable: main\ndev:\n  env: DEV=1\n")
    config = run("app.yaml")
    assert (config.env, config.callable) == (["DEV=1"], "main")
    with pytest.raises(ConfigError, match=r"^JSON ':dev' names only a section, and no JSON file was read before$"):
        run("--json", ":dev")


def test_a_missing_yaml_section_is_a_warning_and_a_missing_json_object_an_error(run, write):
    write("app.yaml", "uwsgi:\n  callable: x\n")
    config = run("app.yaml:prod")
    assert config.warnings == ("no top-level 'prod:' in YAML file 'app.yaml'",)
    write("app.json", '{"uwsgi": {}}')
    with pytest.raises(ConfigError, match=r"^app\.json: you must define an object named 'prod'"):
        run("app.json:prod")


def test_errors_name_the_file_and_position(run, write):
    write("bad.json", '{"uwsgi": {\n  "a": 1\n  "b": 2\n}}')
    with pytest.raises(ConfigError, match=r"^bad\.json line 3 column 3: Expecting ',' delimiter$"):
        run("bad.json")
    write("bad.yaml", "uwsgi:\n  a: |\n")
    with pytest.raises(ConfigError, match=r"^bad\.yaml line 2: block scalars"):
        run("--yaml", "bad.yaml")
    write("bad.xml", "<uwsgi>\n<a>\n</uwsgi>")
    with pytest.raises(ConfigError, match=r"^bad\.xml line 3 column 3: mismatched tag$"):
        run("bad.xml")
    with pytest.raises(ConfigError, match=r"^cannot read YAML file 'nope\.yml': No such file or directory$"):
        run("nope.yml")
    with pytest.raises(ConfigError, match=r"^option '--json' expects a config file \(FILE or FILE:SECTION\)"):
        run("--json", "")


def test_lone_config_files_are_not_in_uwsgi_opt_but_loader_keys_are(run, write):
    write("app.json", '{"uwsgi": {"yaml": "more.yaml", "callable": "x"}}')
    write("more.yaml", "uwsgi:\n  env: A=1\n")
    opt = run("app.json").uwsgi_opt()
    assert opt == {"yaml": b"more.yaml", "env": b"A=1", "callable": b"x"}


def test_strict_and_logic_apply_to_every_format(run, write):
    write("app.yaml", """
        uwsgi:
          if-env: STAGE
          env: STAGE=%(_)
          endif:
          processes: 2
    """.replace("\n        ", "\n"))
    assert run("app.yaml", env={"STAGE": "dev"}).env == ["STAGE=dev"]
    assert run("app.yaml").env == []
    write("s.json", '{"uwsgi": {"strict": true, "procesess": 2}}')
    with pytest.raises(ConfigError, match=r"^unknown option 'procesess' \(did you mean 'processes'\?\) "
                                          r"\(from s\.json key 'procesess'\)"):
        run("s.json")

"""The pure rules of mules: farm specs, mule numbering, message and signal targets."""

from __future__ import annotations

import pytest

from gateway.config import load
from gateway.mules.spec import (
    SHARED,
    FarmSpec,
    FarmSpecError,
    message_queue,
    mule_scripts,
    parse_farm,
    parse_farms,
    signal_queues,
)


def test_farm_specs():
    assert parse_farm("fast:1,2") == FarmSpec("fast", (1, 2))
    assert parse_farm(" slow : 3 , 3,") == FarmSpec("slow", (3,))
    for bad in ("fast", ":1", "fast:", "fast:a", "fast:0", "fast:-1"):
        with pytest.raises(FarmSpecError):
            parse_farm(bad)
    with pytest.raises(FarmSpecError, match="invalid mule id: 3"):
        parse_farm("f:1,3", mules=2)
    with pytest.raises(FarmSpecError, match="defined twice"):
        parse_farms(["a:1", "a:2"], 2)


def test_mules_are_numbered_in_the_order_given_and_mules_n_adds():
    entries = [("mule", "a.py"), ("mules", "2"), ("mule", ""), ("mules", "1"), ("mule", "m:f")]
    assert mule_scripts(entries) == ["a.py", "", "", "", "", "m:f"]
    assert mule_scripts([("master", True)]) == []


def test_the_config_keeps_the_order_for_numbering():
    cfg = load(["--mules", "2", "--mule=s.py", "--farm", "f:1,3"], {})
    assert mule_scripts([(e.key, e.value) for e in cfg.sources]) == ["", "", "s.py"]
    assert cfg.mule_msg_size == 65536
    from gateway.config import ConfigError

    with pytest.raises(ConfigError, match="--farm"):
        load(["--farm", "nomules"], {})


def test_message_targets():
    farms = ["fast", "slow"]
    assert message_queue(None, 2, farms) == SHARED
    assert message_queue(0, 2, farms) == SHARED
    assert message_queue(2, 2, farms) == ("mule", 2)
    assert message_queue("slow", 2, farms) == ("farm", 1)
    assert message_queue(b"fast", 2, farms) == ("farm", 0)
    with pytest.raises(ValueError, match="no mule configured"):
        message_queue(None, 0, [])
    with pytest.raises(ValueError, match="invalid mule number"):
        message_queue(3, 2, farms)
    with pytest.raises(ValueError, match="invalid mule number"):
        message_queue(-1, 2, farms)
    with pytest.raises(ValueError, match="unknown farm"):
        message_queue("other", 2, farms)
    with pytest.raises(ValueError, match="invalid mule"):
        message_queue(1.5, 2, farms)
    # uWSGI's PyLong_Check takes a bool (until 2026-12-05: ValueError "invalid mule")
    assert message_queue(True, 2, farms) == ("mule", 1) and message_queue(False, 2, farms) == SHARED


def test_signal_targets():
    farms = ["fast"]
    assert signal_queues("mule", 2, farms) == [SHARED]
    assert signal_queues("mule0", 2, farms) == [SHARED]
    assert signal_queues("mule2", 2, farms) == [("mule", 2)]
    assert signal_queues("mules", 2, farms) == [("mule", 1), ("mule", 2)]
    assert signal_queues("farm_fast", 2, farms) == [("farm", 0)]
    assert signal_queues("farm1", 2, farms) == [("farm", 0)]
    for other in ("", "workers", "worker2", "spooler", "mulex"):
        assert signal_queues(other, 2, farms) is None
    for bad in ("mule3", "farm_slow", "farm2", "farm0"):
        with pytest.raises(ValueError):
            signal_queues(bad, 2, farms)


def test_an_ini_mule_without_a_value_is_a_plain_mule(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\nmule =\nmule = job.py\nmules = 1\nfarm = f:1,3\n")
    cfg = load([str(ini)], {})
    assert mule_scripts([(e.key, e.value) for e in cfg.sources]) == ["", "job.py", ""]
    assert cfg.farm == ["f:1,3"]

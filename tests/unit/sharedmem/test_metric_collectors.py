"""``--metric`` collectors and aliases (gateway/sharedmem/metric_collectors.py, metrics.py)."""

from __future__ import annotations

import os

import pytest

from gateway.sharedmem import metric_collectors as mc
from gateway.sharedmem.metrics import ALIAS, MetricConfigError, Metrics, MetricSpec


@pytest.mark.parametrize("data, index, value", [
    (b"7 42\t-9\n", 0, 7), (b"7 42\t-9\n", 1, 42), (b"7 42\t-9\n", 2, -9), (b"7 42\t-9\n", 3, 0),
    (b" 5 6", 0, 5), (b" 5 6", 1, 5), (b" 5 6", 2, 6),  # (uWSGI's scan: a leading blank ends field 0)
    (b"12abc 3", 0, 12), (b"x 3", 0, 0), (b"", 0, 0), (b"99999999999999999999", 0, 2 ** 63 - 1),
])
def test_file_fields_as_uwsgis_scan_and_strtoll(data, index, value):
    assert mc.file_field(data, index) == value


def metrics(*texts):
    return Metrics([MetricSpec.parse(t) for t in texts])


def test_collectors_values_and_freq(tmp_path):
    path = tmp_path / "f"
    path.write_text("3 4")
    m = metrics("name=a,initial_value=10", "name=b,initial_value=-3", "name=sum,collector=sum,children=a;b",
                "name=avg,collector=avg,children=a;b", "name=add,collector=adder,children=a,arg1n=5",
                "name=mul,collector=multiplier,children=b,arg1n=2,initial_value=1",
                "name=acc,collector=accumulator,children=a", "name=file,collector=file,arg1=%s,arg1n=1" % path,
                "name=slow,collector=sum,children=a,freq=10", "name=al,type=alias,alias=a")
    m.run_collectors(100.0)
    assert [m.get(n) for n in ("sum", "avg", "add", "mul", "acc", "file", "slow", "al")] == [7, 3, 15, -5, 10, 4, 10, 10]
    assert m.op("a", "set", 20) and not m.op("sum", "set", 1) and not m.op("al", "inc", 1)
    m.run_collectors(101.0)  # (slow: every 10 s; acc adds its children to its own value)
    assert [m.get(n) for n in ("sum", "acc", "slow", "al")] == [17, 30, 10, 20]
    m.run_collectors(110.0)
    assert m.get("slow") == 20
    assert m.stats()["al"] == {"type": ALIAS, "oid": "", "value": 20}
    m.close()


def test_avg_truncates_toward_zero_and_sums_wrap():
    m = metrics("name=a,initial_value=-3", "name=b", "name=avg,collector=avg,children=a;b",
                "name=big,initial_value=%d" % (2 ** 63 - 1), "name=sum,collector=sum,children=big;big")
    m.run_collectors(0.0)
    assert m.get("avg") == -1 and m.get("sum") == -2
    m.close()


def test_a_missing_file_is_0_and_logged_once(caplog):
    m = metrics("name=f,collector=file,arg1=/nonexistent/metric")
    m.run_collectors(0.0)
    m.run_collectors(1.0)
    assert m.get("f") == 0
    assert [r.getMessage() for r in caplog.records] == ['metric f: open("/nonexistent/metric"): No such file or directory']
    m.close()


def test_a_fifo_is_refused_not_waited_for(tmp_path, caplog):
    """The collectors run in the master's loop: a FIFO nobody writes would block it in open()."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    m = metrics("name=f,collector=file,arg1=%s" % fifo)
    m.run_collectors(0.0)
    assert m.get("f") == 0
    assert [r.getMessage() for r in caplog.records] == ['metric f: open("%s"): not a regular file' % fifo]
    m.close()


@pytest.mark.parametrize("texts, message", [
    (["name=x,collector=nope"], 'unable to find metric collector "nope"'),
    (["name=x,collector=ptr"], "collector 'ptr' is not supported by gateway"),
    (["name=x,collector=func,arg1=f"], "collector 'func' is not supported by gateway"),
    (["name=x,type=alias"], 'metric alias "x" requires a mapping !!!'),
    (["name=x,type=alias,alias=y", "name=y"], 'unable to find metric "y"'),
    (["name=x,collector=sum,children=a;b", "name=a"], 'unable to find metric "a"'),
    (["name=x,reset_after_push=1"], "'reset_after_push' is not supported by gateway"),
    (["name=x,freq=often"], "freq must be an integer"),
])
def test_uwsgis_startup_errors(texts, message):
    with pytest.raises(MetricConfigError, match=message.replace("(", r"\(").replace("!", "!")):
        metrics(*texts)


def test_restore_gives_a_collected_counter_its_old_value_as_initial_value(tmp_path):
    """``--metrics-dir-restore``: a collector counter counts on from its file's value (as uWSGI's
    initial_value); a collector gauge starts afresh (uWSGI would add the old value to it too)."""
    for name, value in (("a", "4\n"), ("count", "100\n"), ("gauge", "100\n"), ("al", "9\n")):
        (tmp_path / name).write_text(value)
    m = Metrics([MetricSpec.parse(t) for t in ("name=a", "name=count,collector=sum,children=a",
                                                "name=gauge,type=gauge,collector=sum,children=a",
                                                "name=al,type=alias,alias=a")], str(tmp_path), restore=True)
    m.run_collectors(0.0)
    assert [m.get(n) for n in ("a", "count", "gauge", "al")] == [4, 104, 4, 4]
    m.close()

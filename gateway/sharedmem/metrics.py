"""uWSGI metrics (``--metric``, ``uwsgi.metric_*``): 64-bit integers in shared memory.

Each ``--metric name=N[,type=counter|gauge|absolute][,initial_value=V][,oid=O]`` gets
one signed 64-bit slot of a shared mapping created before fork, so every worker
reads and updates the same value.  Updates are read-modify-write under one
:class:`~gateway.sharedmem.region.ShortLock` (microseconds; a dead holder's lock is
released by the kernel); reads are single aligned loads and take no lock.

Return values follow uWSGI: ``metric_inc/dec/mul/div/set`` give ``True``, or
``None`` for an unknown metric (and ``metric_div`` by 0); ``metric_get`` gives 0 for
an unknown one.  ``--metrics-dir DIR`` keeps one file per metric holding its value
as text (what uWSGI's collector writes), refreshed by the master once a second.

A ``--metric`` may have a collector (``collector=file|sum|avg|accumulator|adder|multiplier``,
``freq=``, ``arg1=``, ``arg1n=``, ``children=A;B``: :mod:`gateway.sharedmem.metric_collectors`),
which the master runs (:meth:`Metrics.run_collectors`, once a second), or be an alias
(``type=alias,alias=OTHER``: the other metric's value and OID, read through it).

Metrics registered with ``collected=True`` (uWSGI's built-in ``worker.N.requests`` & co.,
:mod:`gateway.subsystems.builtin_metrics`) get their value from the master
(:meth:`Metrics.collect`, once a second): applications can read them but not change them
(``metric_set`` & co. give ``None``, as uWSGI refuses updates of a metric that has a collector).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from gateway.logs import gen_log
from gateway.regular_files import open_regular
from gateway.sharedmem import metric_collectors
from gateway.sharedmem.keyvals import parse_keyvals
from gateway.sharedmem.region import Region, ShortLock

COUNTER, GAUGE, ABSOLUTE, ALIAS = 0, 1, 2, 3
_TYPES = {"counter": COUNTER, "gauge": GAUGE, "absolute": ABSOLUTE, "alias": ALIAS}
#: keys uWSGI's --metric takes that gateway accepts and ignores (only its ``func`` collector reads them)
_IGNORED_KEYS = {"arg2", "arg3", "arg2n", "arg3n"}
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
#: what --metrics-dir-restore reads of a file: optional blanks, then a signed integer
_LEADING_INT = re.compile(rb"[ \t\r\n]*[+-]?[0-9]+")
_RESTORE_MAX = 64


class MetricConfigError(ValueError):
    pass


@dataclass
class MetricSpec:
    name: str
    type: int = COUNTER
    oid: str = ""
    initial_value: int = 0
    #: the master sets the value (a built-in metric); applications cannot change it
    collected: bool = False
    #: a --metric's collector (metric_collectors.COLLECTORS), run every ``freq`` seconds
    collector: str = ""
    freq: int = 1
    arg1: str = ""
    arg1n: int = 0
    children: Tuple[str, ...] = field(default_factory=tuple)
    #: type=alias: the metric whose value (and OID) this one shows
    alias: str = ""

    @classmethod
    def parse(cls, text: str) -> "MetricSpec":
        if "=" not in text:
            spec = cls(name=text.strip())
        else:
            kv = parse_keyvals(text)
            if kv is None:
                raise MetricConfigError("invalid metric keyval syntax: %s" % text)
            if not kv.get("name"):
                raise MetricConfigError("you need to specify a metric name: %s" % text)
            spec = cls(name=kv.pop("name"))
            t = kv.pop("type", "counter")
            if t not in _TYPES:
                raise MetricConfigError("metric %r: type must be counter, gauge, absolute or alias, got %r"
                                        % (spec.name, t))
            spec.type = _TYPES[t]
            spec.oid = kv.pop("oid", "")
            spec.initial_value = _int_key(spec.name, kv, "initial_value")
            spec.arg1n = _int_key(spec.name, kv, "arg1n")
            spec.freq = _int_key(spec.name, kv, "freq") or 1  # (uWSGI: 0 is 1)
            if spec.freq < 0:
                raise MetricConfigError("metric %r: freq must be a number of seconds" % spec.name)
            spec.arg1 = kv.pop("arg1", "")
            spec.alias = kv.pop("alias", "")
            spec.children = tuple(c for c in kv.pop("children", "").split(";") if c)
            spec.collector = kv.pop("collector", "")
            if spec.collector in metric_collectors.UNSUPPORTED:
                raise MetricConfigError("metric %r: collector %r is not supported by gateway: %s"
                                        % (spec.name, spec.collector, metric_collectors.UNSUPPORTED[spec.collector]))
            if spec.collector and spec.collector not in metric_collectors.COLLECTORS:
                raise MetricConfigError('unable to find metric collector "%s"' % spec.collector)
            for k in kv:
                if k not in _IGNORED_KEYS:
                    raise MetricConfigError("metric %r: %r is not supported by gateway" % (spec.name, k))
        if not _NAME.match(spec.name):
            raise MetricConfigError("invalid metric name: %s" % spec.name)
        return spec


def _int_key(name: str, kv: Dict[str, str], key: str) -> int:
    try:
        return int(kv.pop(key, "0"))
    except ValueError:
        raise MetricConfigError("metric %r: %s must be an integer" % (name, key)) from None


_wrap = metric_collectors.wrap64


class Metrics:
    """Every metric of the instance, in registration order.

    A name registered twice keeps its first place and takes the last declaration (uWSGI
    overwrites an existing metric in place: a ``--metric`` named like a built-in one replaces
    it with a plain metric).
    """

    def __init__(self, specs: List[MetricSpec], metrics_dir: Optional[str] = None, *, restore: bool = False) -> None:
        self.specs: List[MetricSpec] = []
        self.index: Dict[str, int] = {}
        #: how many collected metrics were registered (first): the length of collect()'s values
        self.collected_count = 0
        for s in specs:
            if s.name in self.index:
                self.specs[self.index[s.name]] = s
                continue
            if s.collected:
                if self.collected_count != len(self.specs):
                    raise ValueError("metric %r: collected metrics are registered first" % s.name)
                self.collected_count += 1
            self.index[s.name] = len(self.specs)
            self.specs.append(s)
        #: the built-in metrics, whose values :meth:`collect` stores
        self.builtin = [s.collected for s in self.specs]
        #: where each metric's value lives: its own slot, or an alias's target's
        self.slot = self._slots()
        #: metrics the application cannot change: built-in, aliases, with a collector
        self.collected = [s.collected or s.type == ALIAS or bool(s.collector) for s in self.specs]
        #: (index, children's indexes) of the --metric collectors, in registration order
        self._collectors = [(i, [self.index[c] for c in s.children]) for i, s in enumerate(self.specs) if s.collector]
        self._last_collect: Dict[int, float] = {}
        self._file_errors: Dict[int, str] = {}
        self.region = Region("metrics", 8 * max(1, len(self.specs)))
        self.buf = self.region.buf
        #: the values as native 64-bit integers: one aligned load or store each
        self.ints = memoryview(self.buf).cast("q")
        self.lock = ShortLock(self.region, 0, "metrics")
        self.metrics_dir = os.path.realpath(metrics_dir) if metrics_dir else None
        self._written: Dict[str, Optional[int]] = {}
        if restore and self.metrics_dir:
            self._restore(self.metrics_dir)
        for i, s in enumerate(self.specs):
            self.ints[i] = s.initial_value
        if self.metrics_dir:
            os.makedirs(self.metrics_dir, exist_ok=True)
            self.write_dir()

    def _slots(self) -> List[int]:
        """Each metric's value slot; checks what aliases and children name (uWSGI's startup
        errors: they must be metrics registered before)."""
        slots = list(range(len(self.specs)))
        for i, s in enumerate(self.specs):
            for child in s.children:
                if self.index.get(child, len(self.specs)) >= i:
                    raise MetricConfigError('unable to find metric "%s"' % child)
            if s.type != ALIAS or s.collected:
                continue
            if not s.alias:
                raise MetricConfigError('metric alias "%s" requires a mapping !!!' % s.name)
            target = self.index.get(s.alias)
            if target is None or target >= i:
                raise MetricConfigError('unable to find metric "%s"' % s.alias)
            slots[i] = slots[target]
        return slots

    def _restore(self, directory: str) -> None:
        """``--metrics-dir-restore``: a metric's initial value is what its file holds (the
        leading integer, as uWSGI's ``strtoll``; a missing or unreadable file leaves it).

        A collected counter then counts on from there (uWSGI's ``worker.1.requests`` survives a
        restart); collected gauges, absolutes and aliases are not restored, as they describe the
        present (uWSGI adds the old value to them too: ``core.idle_workers`` 2 with 1 worker)."""
        for i, s in enumerate(self.specs):
            if self.collected[i] and s.type != COUNTER:
                continue
            try:
                with open(os.path.join(directory, s.name), "rb") as f:
                    text = f.read(_RESTORE_MAX)
            except OSError:
                continue
            m = _LEADING_INT.match(text)
            if m:
                self.specs[i] = replace(s, initial_value=_wrap(int(m.group())))

    @property
    def has_collected(self) -> bool:
        """Whether some metric gets its value from :meth:`collect`."""
        return self.collected_count > 0

    def after_fork(self) -> None:
        self.lock.after_fork()

    def get(self, name: str) -> int:
        i = self.index.get(name)
        return 0 if i is None else self.ints[self.slot[i]]

    def run_collectors(self, now: float) -> None:
        """The master's pass over the --metric collectors (once a second): each one due (every
        ``freq`` seconds, the first pass at once) gets ``initial_value + collector()``, in
        registration order (a collector sees the children collected before it in this pass)."""
        ints, specs, slot = self.ints, self.specs, self.slot
        for i, children in self._collectors:
            s = specs[i]
            last = self._last_collect.get(i)
            if last is not None and now - last < s.freq - 0.001:
                continue
            self._last_collect[i] = now
            if s.collector == "file":
                collected = self._read_file(i, s)
            else:
                collected = metric_collectors.COLLECTORS[s.collector]([ints[slot[c]] for c in children], ints[i], s.arg1n)
            ints[i] = _wrap(s.initial_value + collected)

    def _read_file(self, i: int, s: MetricSpec) -> int:
        """The ``file`` collector; a file it cannot read gives 0 and one log line until it can
        again (uWSGI logs every attempt)."""
        if not s.arg1:
            return 0
        try:
            fd, _ = open_regular(s.arg1)  # never a FIFO or a device: the master's loop reads it
            with os.fdopen(fd, "rb") as f:
                data = f.read(metric_collectors.FILE_READ)
        except OSError as e:
            error = 'open("%s"): %s' % (s.arg1, e.strerror or e)
            if self._file_errors.get(i) != error:
                self._file_errors[i] = error
                gen_log.error("metric %s: %s", s.name, error)
            return 0
        self._file_errors.pop(i, None)
        return metric_collectors.file_field(data, s.arg1n)

    def collect(self, values: Sequence[int]) -> None:
        """Store the master's values of the collected metrics registered first, in
        registration order (uWSGI's collector: the value is the metric's initial value plus
        what was collected); a position a plain metric took over (a ``--metric`` named like
        a built-in one) is skipped.  One writer (the master) and aligned stores: no lock."""
        if len(values) != self.collected_count:
            raise ValueError("%d values for %d collected metrics" % (len(values), self.collected_count))
        builtin, ints, specs = self.builtin, self.ints, self.specs
        for i in range(len(values)):
            if builtin[i]:
                ints[i] = _wrap(specs[i].initial_value + values[i])

    def op(self, name: str, op: str, value: int) -> bool:
        i = self.index.get(name)
        if i is None or self.collected[i]:
            return False
        if op == "div" and value == 0:
            return False
        with self.lock:
            cur = self.ints[i]
            if op == "set":
                new = value
            elif op == "inc":
                new = cur + value
            elif op == "dec":
                new = cur - value
            elif op == "mul":
                new = cur * value
            elif op == "div":
                q = abs(cur) // abs(value)
                new = q if (cur >= 0) == (value >= 0) else -q
            elif op == "set_max":
                new = value if value > cur else cur
            elif op == "set_min":
                new = value if value < cur else cur
            else:
                raise ValueError(op)
            self.ints[i] = _wrap(new)
        return True

    def stats(self) -> Dict[str, Dict[str, object]]:
        """The stats JSON ``metrics`` object: ``{name: {type, oid, value}}``."""
        specs, slot = self.specs, self.slot
        return {  # (an alias shows its target's OID, as uWSGI's)
            s.name: {"type": s.type, "oid": specs[slot[i]].oid if slot[i] != i else s.oid, "value": self.ints[slot[i]]}
            for i, s in enumerate(specs)
        }

    def write_dir(self) -> None:
        """Refresh ``--metrics-dir`` files whose value changed (called once a second)."""
        if not self.metrics_dir:
            return
        for i, s in enumerate(self.specs):
            value = self.ints[self.slot[i]]
            if self._written.get(s.name) == value:
                continue
            path = os.path.join(self.metrics_dir, s.name)
            tmp = path + ".tmp"
            try:  # (mode 0640 before the umask, as uWSGI's files)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
                with open(fd, "w") as f:
                    f.write("%d\n" % value)
                os.replace(tmp, path)
                self._written[s.name] = value
            except OSError:
                pass

    def close(self) -> None:
        self.ints.release()
        self.region.close()

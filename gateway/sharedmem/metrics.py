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

Metrics registered with ``collected=True`` (uWSGI's built-in ``worker.N.requests`` & co.,
:mod:`gateway.subsystems.builtin_metrics`) get their value from the master
(:meth:`Metrics.collect`, once a second): applications can read them but not change them
(``metric_set`` & co. give ``None``, as uWSGI refuses updates of a metric that has a collector).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence

from gateway.sharedmem.keyvals import parse_keyvals
from gateway.sharedmem.region import Region, ShortLock

COUNTER, GAUGE, ABSOLUTE, ALIAS = 0, 1, 2, 3
_TYPES = {"counter": COUNTER, "gauge": GAUGE, "absolute": ABSOLUTE}
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
                raise MetricConfigError("metric %r: type must be counter, gauge or absolute, got %r" % (spec.name, t))
            spec.type = _TYPES[t]
            spec.oid = kv.pop("oid", "")
            if "initial_value" in kv:
                try:
                    spec.initial_value = int(kv.pop("initial_value"))
                except ValueError:
                    raise MetricConfigError("metric %r: initial_value must be an integer" % spec.name) from None
            for k in kv:
                raise MetricConfigError("metric %r: %r is not supported by gateway" % (spec.name, k))
        if not _NAME.match(spec.name):
            raise MetricConfigError("invalid metric name: %s" % spec.name)
        return spec


def _wrap(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= 1 << 63 else v


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
        self.collected = [s.collected or s.type == ALIAS for s in self.specs]
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
        return 0 if i is None else self.ints[i]

    def collect(self, values: Sequence[int]) -> None:
        """Store the master's values of the collected metrics registered first, in
        registration order (uWSGI's collector: the value is the metric's initial value plus
        what was collected); a position a plain metric took over (a ``--metric`` named like
        a built-in one) is skipped.  One writer (the master) and aligned stores: no lock."""
        if len(values) != self.collected_count:
            raise ValueError("%d values for %d collected metrics" % (len(values), self.collected_count))
        collected, ints, specs = self.collected, self.ints, self.specs
        for i in range(len(values)):
            if collected[i]:
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
        return {
            s.name: {"type": s.type, "oid": s.oid, "value": self.ints[i]}
            for i, s in enumerate(self.specs)
        }

    def write_dir(self) -> None:
        """Refresh ``--metrics-dir`` files whose value changed (called once a second)."""
        if not self.metrics_dir:
            return
        for i, s in enumerate(self.specs):
            value = self.ints[i]
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

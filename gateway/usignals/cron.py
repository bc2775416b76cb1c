"""When a uWSGI cron entry (``add_cron(sig, minute, hour, day, month, weekday)``) fires.

uWSGI's rules (``uwsgi_cron_task_needs_execution``): ``-1`` is "any"; another
negative value ``-N`` means "every N" (``-5`` minutes = ``*/5``); weekday 7 is
Sunday; when both day and weekday are given (non-negative) either may match (as
crontab ORs them).  Months are 1..12.  An entry fires at most once a minute.
"""

from __future__ import annotations

import time
from typing import Tuple


def cron_matches(fields: Tuple[int, int, int, int, int], tm: time.struct_time) -> bool:
    minute, hour, day, month, week = fields
    now_min, now_hour, now_mday, now_mon = tm.tm_min, tm.tm_hour, tm.tm_mday, tm.tm_mon
    now_wday = (tm.tm_wday + 1) % 7  # struct_time: Monday=0; cron/C: Sunday=0
    want_week = 0 if week == 7 else week

    def field(want: int, now: int) -> int:
        if want < 0 and now % abs(want) == 0:
            return now
        return want

    m = field(minute, now_min)
    h = field(hour, now_hour)
    mo = field(month, now_mon)
    d = field(day, now_mday)
    w = field(week, now_wday) if week < 0 else want_week
    if day >= 0 and week >= 0:
        return now_min == m and now_hour == h and now_mon == mo and (now_mday == d or now_wday == w)
    return now_min == m and now_hour == h and now_mon == mo and now_mday == d and now_wday == w

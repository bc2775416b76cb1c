"""The emperor↔vassal channel: one byte per message over an inherited socketpair.

The vassal finds its end in ``UWSGI_EMPEROR_FD`` (uWSGI's variable, same meaning), so a
gateway vassal can also be governed by uWSGI's Emperor and the other way round.
"""

from __future__ import annotations

#: The variable naming the vassal's end of the socketpair.
ENV_FD = "UWSGI_EMPEROR_FD"

# -- emperor → vassal -----------------------------------------------------------------------
#: stop now (uWSGI's ``kill_them_all``)
STOP = 0
#: reload gracefully (uWSGI's ``grace_them_all``: in place, or a binary reload for a new configuration)
RELOAD = 1
#: stop gracefully (uWSGI's ``gracefully_kill_them_all``)
GRACEFUL_STOP = 2

# -- vassal → emperor -------------------------------------------------------------------------
#: the master is up ("vassal X has been spawned")
READY = 1
#: the workers accept requests ("vassal X is ready to accept requests")
ACCEPTING = 5
#: the first request was served: a loyal vassal is never throttled ("vassal X is now loyal")
LOYAL = 17
#: "stop me" (``--die-on-idle`` under an Emperor: not respawned while its file stays)
STOP_ME = 22
#: "send reinforcements" (uWSGI's ``vassal_sos``: the master FIFO's ``B``, for a broodlord Emperor)
SOS = 30
#: a heartbeat (uWSGI's ``--heartbeat``: :mod:`gateway.emperor.heartbeat`)
HEARTBEAT = 26

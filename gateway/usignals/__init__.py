"""uWSGI signals: ``uwsgi.register_signal``/``uwsgi.signal``, timers, cron, file monitors.

A uWSGI signal is a number 0..255.  A worker registers a handler for it with a
*target* (which workers run it); anybody raises it; the master routes it to the
target workers, each of which runs the handler in one of its async cores.  Timers,
red-black timers, crons and file monitors are event sources the master watches in
its ``selectors`` loop, each raising a signal.

* :mod:`.table` — the shared table (targets, who registered what, the event sources),
  created before fork;
* :mod:`.router` — the master side: routes signals, runs timers/crons/file monitors
  (also used inside the single worker when there is no master);
* :mod:`.receiver` — the worker side: handlers, and running them in cores;
* :mod:`.cron` — when a uWSGI cron entry matches.

Transport, as in uWSGI: one ``AF_UNIX`` socketpair per worker slot, one byte per
signal, both directions (worker→master: "route this signal"; master→worker: "run
your handler").
"""

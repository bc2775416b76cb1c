"""uWSGI's Emperor: one vassal instance per config file, watched, reloaded, respawned.

``gateway --emperor /etc/gateway/vassals`` (or a glob, ``/etc/vassals/*.ini``) scans the
source every ``--emperor-freq`` seconds and runs one vassal per config file
(``python -m gateway --ini app.ini``, the flag chosen by the extension, as uWSGI does).

* :mod:`~gateway.emperor.protocol`: the one-byte messages of the emperor↔vassal socketpair;
* :mod:`~gateway.emperor.monitor`: where the files are, and what a scan means (pure: what to
  start, reload, stop);
* :mod:`~gateway.emperor.throttle`: the blacklist that delays the respawn of a failing vassal;
* :mod:`~gateway.emperor.emperor`: the Emperor process, a small ``selectors`` loop;
* :mod:`~gateway.emperor.vassal`: the vassal's side, in its master.
"""

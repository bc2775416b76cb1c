"""The Erlang C-node: every worker joins an Erlang cluster as a hidden node.

Sans-IO parts (stdlib only, no sockets, no logging): :mod:`.flags` (the one table of
distribution flags), :mod:`.names` (node names, short and long), :mod:`.epmd` (EPMD
messages), :mod:`.handshake` (the version-6 handshake for both roles), :mod:`.dist`
(connected-state framing).  The codec is :mod:`.etf`.

I/O on the worker's IOLoop: :mod:`.node` (the node's lifecycle, peers and public
API: start here), :mod:`.connection` (one peer's socket, framing, locked writes),
:mod:`.sending` (what we send on a connection),
:mod:`.router` (each incoming message to its handler), :mod:`.calls` (running the
Python callables Erlang calls; Python waiting for Erlang from a thread or a core),
:mod:`.rex` (Erlang calling our RPC registry; our rex calls), :mod:`.watchdog`
(ticks, and the thread that ticks while the loop is blocked), :mod:`.epmd_client`
(EPMD over the loop), :mod:`.terms` (shared atoms and term shapes) and :mod:`.api`
(the ``uwsgi.erlang_*`` functions, ``start()`` and ``stop()``).
"""

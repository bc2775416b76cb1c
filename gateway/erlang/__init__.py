"""The Erlang C-node: every worker joins an Erlang cluster as a hidden node.

Sans-IO parts (stdlib only, no sockets, no logging): :mod:`.flags` (the one table of
distribution flags), :mod:`.names` (node names, short and long), :mod:`.epmd` (EPMD
messages), :mod:`.handshake` (the version-6 handshake for both roles), :mod:`.dist`
(connected-state framing).  The codec is :mod:`.etf`.

I/O on the worker's IOLoop: :mod:`.node` (EPMD registration, listener, peers, ticks,
processes), :mod:`.rex` (Erlang calling our RPC registry) and :mod:`.api` (the
``uwsgi.erlang_*`` functions, ``start()`` and ``stop()``).
"""

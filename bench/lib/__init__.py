"""One harness for every benchmark in bench/: import it instead of copying run.py.

A script in bench/ (run as ``python bench/x.py``, so ``bench/`` is on ``sys.path``) does::

    from lib import procfs, httpclient, servers, wrk, report

    ctx = servers.Ctx(quiet_wait=10)                 # tools (python, uwsgi, wrk, nginx), temp dir, ports
    port = ctx.alloc_port()
    srv = servers.Server(ctx, "gateway", servers.gateway_cmd(ctx, port, "bench/apps/hello.py", cores=100))
    try:
        if not httpclient.wait_ready(port, srv.proc, ctx.ready_timeout):
            raise SystemExit(srv.tail())
        r = wrk.measure_retry(ctx, srv, port, conns=50, duration=5)   # wrk counters + CPU shares
        r["rss_kb"] = procfs.rss_kb(srv.pid)
    finally:
        srv.stop()
    report.save(ctx.out_dir, "mybench", meta, results, markdown_text)

Modules, one concern each:

* ``procfs``: CPU and memory accounting from /proc (a process tree's ticks and RSS, per-core busy time,
  CPU used by everybody else, waiting for a quiet machine).
* ``httpclient``: a blocking HTTP/1.1 client for probes and custom loads (``Reader``, ``read_response``,
  ``request``, ``wait_ready``).
* ``servers``: the context (tools, ports, temp dir), a server process pinned to the server core that stops by
  its pid only, and command builders for gateway and uWSGI.
* ``wrk``: driving wrk with ``report.lua`` (JSON out), and a measurement that adds the CPU accounting and
  retries when other processes were noisy.
* ``report``: medians, number formatting, Markdown tables, results written to ``bench/results/``.
"""

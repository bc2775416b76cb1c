"""Instructions per request of ``bench/hotpath_bench.py``'s paths, counted by callgrind.

On the shared 2-core VM, wall time drifts by several per cent from one run to the next;
an instruction count does not (under 0.1 % here), so a small regression of the request path
shows.  Each path runs twice in a fresh interpreter under ``valgrind --tool=callgrind``, with
N1 and then N2 requests after the same warm-up: ``(Ir(N2) - Ir(N1)) / (N2 - N1)`` is what one
request costs, start-up and warm-up cancelled out.  ``PYTHONHASHSEED=0`` keeps dict layouts
the same from run to run.

Compare two commits with a worktree of each: ``--tree`` puts that checkout's ``gateway`` and
``loop_engine`` (and its ``bench/hotpath_bench.py``) ahead of the installed ones::

    git worktree add /tmp/old <commit>
    python bench/hotpath_instructions.py --tree /tmp/old
    python bench/hotpath_instructions.py                     # this checkout

Where the cost went: ``callgrind_annotate`` on the kept output files (``--keep DIR``) gives
the C functions; the Python functions are all inside ``_PyEval_EvalFrameDefault``, so count
calls or bytecodes per request with cProfile or ``sys.settrace`` for those.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
PATHS = ("hello", "stream", "uwsgi")

# Runs one path of hotpath_bench once (its own warm-up, then N requests).
DRIVER = """
import sys
sys.path.insert(0, sys.argv[1])
import hotpath_bench as hb
path, n = sys.argv[2], int(sys.argv[3])
if path == "uwsgi":
    hb.measure_uwsgi(hb.hello, n)
else:
    hb.measure(getattr(hb, path), n)
"""


def instructions(tree: str, path: str, n: int, out_dir: str, valgrind: str) -> int:
    """Instructions (callgrind's Ir) of one run of ``path`` with ``n`` measured requests."""
    out = os.path.join(out_dir, "callgrind.%s.%d" % (path, n))
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=tree)
    subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=" + out,
                    sys.executable, "-c", DRIVER, os.path.join(tree, "bench"), path, str(n)],
                   env=env, cwd=out_dir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("no summary line in %s" % out)


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", default=os.path.dirname(HERE),
                        help="the checkout to measure (default: this one)")
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated: %s" % ", ".join(PATHS))
    parser.add_argument("--n1", type=int, default=1000, help="requests of the short run")
    parser.add_argument("--n2", type=int, default=11000, help="requests of the long run")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--keep", help="keep the callgrind output files in this directory")
    args = parser.parse_args(argv)
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        parser.error("valgrind is not installed")
    if not 0 <= args.n1 < args.n2:
        parser.error("--n1 must be below --n2")
    paths = [p for p in args.paths.split(",") if p]
    unknown = set(paths) - set(PATHS)
    if unknown:
        parser.error("--paths: unknown %s" % ", ".join(sorted(unknown)))
    tree = os.path.abspath(args.tree)
    out_dir = args.keep or tempfile.mkdtemp(prefix="hotpath-cg-")
    os.makedirs(out_dir, exist_ok=True)
    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            runs = {(p, n): pool.submit(instructions, tree, p, n, out_dir, valgrind)
                    for p in paths for n in (args.n1, args.n2)}
            for p in paths:
                per_request = (runs[p, args.n2].result() - runs[p, args.n1].result()) / (args.n2 - args.n1)
                print("%-6s %9.0f instructions/request (%s)" % (p, per_request, tree))
    finally:
        if not args.keep:
            shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""gateway: a pure-Python, uWSGI-compatible application server on Tornado's IOLoop.

Nothing heavy happens at import time: the server is started by :func:`gateway.cli.main`
(the ``gateway`` console script and ``python -m gateway``).
"""

__version__ = "0.1.0"

#: What ``uwsgi.version`` reports inside hosted apps (bytes, as in uWSGI).
UWSGI_COMPAT_VERSION = "2.0.31"

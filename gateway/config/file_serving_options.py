"""uWSGI's options around file serving and the request environ: ``--file-serve-mode``,
``--check-static-docroot``, ``--disable-sendfile``, ``--http-path-info-no-decode-slashes``,
``--ignore-script-name``, ``--response-headers-limit``, ``--upload-progress``.

Kept apart from :mod:`gateway.config.options` (which splices :func:`file_serving_options`
into its table) so the family reads in one place.
"""

from __future__ import annotations

from typing import Any, Callable

from gateway.config import converters as conv
from gateway.config.errors import Invalid

#: ``--file-serve-mode`` spellings (uWSGI's, case-insensitive) -> the header gateway sends
#: (``""``: the file itself).  uWSGI ignores any other word; gateway refuses it.
SERVE_MODES = {
    "x-sendfile": "X-Sendfile",
    "xsendfile": "X-Sendfile",
    "x-accel-redirect": "X-Accel-Redirect",
    "xaccelredirect": "X-Accel-Redirect",
    "nginx": "X-Accel-Redirect",
    "default": "",
    "raw": "",
}

#: uWSGI's default --response-headers-limit (``UMAX16``)
RESPONSE_HEADERS_LIMIT = 65535


def serve_mode(raw: str) -> str:
    """``--file-serve-mode`` text -> the header to answer static files with (``""``: the bytes)."""
    word = raw.strip().lower()
    if word not in SERVE_MODES:
        raise Invalid("x-sendfile, x-accel-redirect (or nginx) or default")
    return SERVE_MODES[word]


def file_serving_options(option: Callable[..., Any], http_section: str, files_section: str) -> tuple:
    """The options (``option`` is :class:`~gateway.config.options.Option`)."""
    return (
        option("file-serve-mode", ("fileserve-mode",), type=serve_mode, section=files_section,
               metavar="MODE",
               help="static files (--static-map, --check-static, the static: route) are answered with "
                    "an X-Sendfile (x-sendfile) or X-Accel-Redirect (x-accel-redirect, nginx) header "
                    "naming the file, for the web server in front to send; default: the file itself"),
        option("check-static-docroot", flag=True, section=files_section,
               help="answer GET/HEAD with the file at the request's DOCUMENT_ROOT (sent by the web "
                    "server: nginx's uwsgi_params) + PATH_INFO when there is one"),
        option("disable-sendfile", flag=True, noop=True, section=files_section,
               help="accepted: gateway never uses sendfile(); files are read and written in blocks "
                    "(by the offload threads with --offload-threads)"),
        option("http-path-info-no-decode-slashes", type=conv.boolean, default=False, section=http_section,
               metavar="BOOL",
               help="--http-socket and the HTTP router: an encoded slash (%2F) stays encoded in "
                    "PATH_INFO, every other escape is decoded"),
        option("ignore-script-name", flag=True, section=http_section,
               help="choose the app as if SCRIPT_NAME were empty (the app mounted at the root, or "
                    "the default app); SCRIPT_NAME itself is left in the environ"),
        option("response-headers-limit", type=conv.integer, default=RESPONSE_HEADERS_LIMIT, minimum=1,
               section=http_section, metavar="BYTES",
               help="the largest response head (status line and headers) an app may set; "
                    "start_response() raises beyond it (default 65535)"),
        option("upload-progress", type=conv.path, section=http_section, metavar="DIR",
               help="with --post-buffering: while a body larger than --post-buffering is read, "
                    "DIR/<X-Progress-ID>.js tells how much arrived (X-Progress-ID=UUID in the query "
                    "string); removed when the body is in"),
    )

"""The ``curl:`` alarm plugin's sender, run as its own short-lived process.

The master never talks to a remote server itself (a slow SMTP server would stop its loop):
for each alarm it spawns ``python -m gateway.alarms.curl`` with, on stdin, one JSON line
(``{"spec": "URL;key=value...", "timeout": N}``: the credentials never show in ``ps``)
then the message.  This process sends it and exits 0, or prints one line and exits 1.

* ``http://``/``https://``: a ``POST`` (or ``method=``) of the message, ``To:``/``Subject:``
  lines first when given (as uWSGI's plugin uploads them), ``auth_user``/``auth_pass`` as
  HTTP Basic; a status of 400 or more is a failure.
* ``smtp://``/``smtps://``: one mail from ``mail_from`` to each ``mail_to`` address;
  ``ssl=`` asks for STARTTLS on ``smtp://``; ``auth_user``/``auth_pass`` log in.
* ``ssl_insecure=`` skips the certificate checks; ``timeout``/``conn_timeout`` bound it all.
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
import sys
import urllib.request
from typing import List, Optional
from urllib.parse import urlsplit

from gateway.alarms.spec import AlarmSpecError, CurlSpec, mail_message, parse_curl


def _context(spec: CurlSpec) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if spec.get("ssl_insecure") is not None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def send(spec: CurlSpec, message: bytes, timeout: float) -> None:
    """Deliver ``message`` as ``spec`` says; raises OSError (or smtplib's errors) on failure."""
    for key in ("timeout", "conn_timeout"):
        value = spec.get(key)
        if value:
            timeout = min(timeout, float(value)) if key == "conn_timeout" else float(value)
    body = mail_message(spec, message)
    if spec.scheme in ("http", "https"):
        request = urllib.request.Request(spec.url, data=body, method=spec.get("method") or "POST")
        request.add_header("Content-Type", "text/plain; charset=utf-8")
        user = spec.get("auth_user")
        if user is not None:
            token = base64.b64encode(("%s:%s" % (user, spec.get("auth_pass") or "")).encode("utf-8"))
            request.add_header("Authorization", "Basic " + token.decode("ascii"))
        handlers: List[urllib.request.BaseHandler] = []
        if spec.scheme == "https":
            handlers.append(urllib.request.HTTPSHandler(context=_context(spec)))
        opener = urllib.request.build_opener(*handlers)
        with opener.open(request, timeout=timeout) as response:  # a 4xx/5xx raises HTTPError
            response.read(65536)
        return
    parts = urlsplit(spec.url)
    port = parts.port or (465 if spec.scheme == "smtps" else 25)
    host = parts.hostname or "localhost"
    client: smtplib.SMTP
    if spec.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_context(spec))
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if spec.scheme == "smtp" and spec.get("ssl") is not None:
            client.starttls(context=_context(spec))
        user = spec.get("auth_user")
        if user is not None:
            client.login(user, spec.get("auth_pass") or "")
        to = [a.strip() for a in (spec.get("mail_to") or "").split(",") if a.strip()]
        client.sendmail(spec.get("mail_from") or "", to, body)


def main(argv: Optional[List[str]] = None) -> int:
    data = sys.stdin.buffer.read()
    head, _, message = data.partition(b"\n")
    try:
        params = json.loads(head)
        spec = parse_curl(params["spec"])
        send(spec, message, float(params.get("timeout") or 30))
    except (AlarmSpecError, ValueError, KeyError, OSError, smtplib.SMTPException) as e:
        sys.stderr.write("[uwsgi-alarm-curl] %s: %s\n" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - run by the master as a child process
    sys.exit(main())

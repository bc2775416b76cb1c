"""The one exception the configuration layer raises, and the converters' signal.

Every problem with a command line, an ini file or a ``UWSGI_*`` variable ends as a
:class:`ConfigError` whose message names the option, the bad value and, when it did
not come from the command line, where it came from.  ``gateway.cli`` prints it as
``gateway: <message>`` and exits with status 1, as uWSGI does for a bad option.
"""

from __future__ import annotations


class ConfigError(Exception):
    """The user's configuration is wrong; the message says what and where.

    ``fallback_config`` is the ``--fallback-config`` file seen before the error, if
    any: uWSGI acts on that option as soon as it reads it, so even a configuration
    that fails later falls back to it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.fallback_config: str | None = None

    def __str__(self) -> str:
        return self.message


class Invalid(ValueError):
    """Raised by a converter: the raw text is not a value of its type.

    ``expected`` completes the sentence "option '--x' expects ...".  ``detail``,
    when given, replaces that sentence with a more precise one (for instance the
    name of a plugin gateway does not have).
    """

    def __init__(self, expected: str, detail: str | None = None) -> None:
        super().__init__(detail or expected)
        self.expected = expected
        self.detail = detail

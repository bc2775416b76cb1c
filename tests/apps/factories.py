"""App-loading targets for ``--module factories[:NAME]`` and ``"factories:NAME()"``."""


def _app(tag):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [tag]

    return app


application = _app(b"factories.application")
custom = _app(b"factories.custom")
not_callable = {"a": "dict"}


def make_app():
    return _app(b"made by make_app()")


def broken_factory():
    raise RuntimeError("factory failed on purpose")


def returns_number():
    return 42

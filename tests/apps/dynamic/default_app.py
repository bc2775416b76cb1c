"""The default app of test_dynamic_apps_vs_uwsgi.py's second pair: says it is the default."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("default sn=%s" % environ.get("SCRIPT_NAME", "")).encode()]

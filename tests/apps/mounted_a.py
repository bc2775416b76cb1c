"""Mounted app 'a' for the --mount tests: answers its name, SCRIPT_NAME and PATH_INFO."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("a %s %s" % (environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()]

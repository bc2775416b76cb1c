"""A streaming generator: each chunk goes out as it is produced; ``schedule_fix`` lets the
worker's other cores run between chunks.  ``curl -N localhost:9090/``"""

import loop_engine


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def chunks():
        for i in range(5):
            yield b"chunk %d\n" % i
            loop_engine.sleep(0.5)  # suspends only this core

    return chunks()

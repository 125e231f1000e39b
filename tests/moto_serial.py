"""moto's server with one request handled at a time.

DynamoDB applies each UpdateItem and each transaction atomically; moto's
threaded server does not (two concurrent ADDs can both read the old value).
Serializing requests gives the concurrency tests a server with DynamoDB's
atomicity. Usage: python moto_serial.py HOST PORT
"""
import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialized(environ, start_response):
    with lock:
        # Produce the whole body inside the lock.
        return list(app(environ, start_response))


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serialized, threaded=True,
               request_handler=MotoRequestHandler)

"""gunicorn's settings: `gunicorn --config python:config.gunicorn config.wsgi` (the image's CMD).

Static files are served by WhiteNoise from what collectstatic wrote (STATIC_ROOT), so
gunicorn is the only server needed behind the load balancer, which terminates HTTPS.
"""

import os

from config.settings import LOGGING

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Processes, each serving one request at a time: about 2 per core is the usual start.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Every page answers in well under a second; a request still running after this is stuck.
timeout = 30
# On SIGTERM, requests in progress get this long to finish (below Docker's 10 s default).
graceful_timeout = 8
# No runtime control socket: nothing here uses it, and a container's home may be read-only.
control_socket_disable = True
# No access log: the load balancer keeps one, and Django logs every 4xx and 5xx itself.
accesslog = None
# gunicorn's own lines (start, stop, a worker timing out) in the app's format, JSON in
# production, through the app's handler.
logconfig_dict = {
    **LOGGING,
    "loggers": {**LOGGING["loggers"], "gunicorn.error": {"level": "INFO", "propagate": True}},
}

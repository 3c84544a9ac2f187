"""gunicorn settings of an app node (deploy/systemd/portal-app@.service, deploy/local-cluster.sh).

    PORTAL_BIND=0.0.0.0:8000 PORTAL_WORKERS=4 gunicorn -c deploy/gunicorn.conf.py wsgi:app

Threads let a page go on while a worker's other thread waits on a slow API call. With
PROMETHEUS_MULTIPROC_DIR set (an empty folder per start; the unit's RuntimeDirectory), /metrics adds
up every worker's figures. nginx writes the access log (JSON, with the request id), so gunicorn
writes none.
"""

import gc
import os
import shutil

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PORTAL_WORKERS", "4"))
worker_class = "portal.serving.BalancedThreadWorker"  # gthread, balanced: portal/serving.py
threads = int(os.environ.get("PORTAL_THREADS", "4"))
keepalive = 75  # longer than nginx keeps an idle upstream connection, so nginx closes first
timeout = 60
graceful_timeout = 30
# A worker restarts now and then (a guard against slow leaks; rate limits live in Redis, so nothing is
# forgotten). Loading the app costs a worker ~2.6 s of CPU: at 5,000 requests a busy node (~1,000 req/s
# over 4 workers) restarted a worker every 5 s, 2.6 s of CPU in every 10 s of two cores, and its kept-alive
# connections reconnected elsewhere mid-load (issue 16). At 50,000 a worker lives minutes under load.
max_requests = 50_000
max_requests_jitter = 5_000
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
errorlog = "-"
loglevel = "info"


def on_starting(server):
    """Start with an empty metrics folder: files of a previous run's workers would be counted again."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def post_worker_init(worker):
    """Move what loading the app made (~200,000 objects: modules, classes, templates) out of the garbage
    collector's sight once the worker has loaded it. Otherwise each full pass of the collector, which
    the survivors of requests (caches filling) set off now and then, walks them all while a request
    waits: 80 ms on a quiet machine, 190-940 ms on a loaded one (measured per request on datastore_search
    under wrk, issue 16), a tail for every route the worker serves.
    They live as long as the worker anyway; later garbage is collected as before."""
    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    """A worker that ended keeps its counters, but its gauges must go (prometheus-client's rule)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

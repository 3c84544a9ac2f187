#!/usr/bin/env bash
# Start the production topology on one Debian machine, smoke-test it, stop it.
#
#   deploy/local-cluster.sh up      # PostgreSQL, Redis, an S3 server (moto), two app nodes (gunicorn,
#                                   # 4 workers each) behind nginx on 127.0.0.1:8080, one worker, one scheduler
#   deploy/local-cluster.sh check   # the smoke test through the front door (deploy/smoke.py)
#   deploy/local-cluster.sh down    # stop what `up` started, drop its database, forget its Redis keys
#
# It installs what is missing (apt-get: nginx, redis-server, postgresql; pip: the repository with its
# test extra, for moto's server). `down` stops only what `up` started: a PostgreSQL or Redis server that
# was already running stays running, and only the cluster's database and Redis database are removed.
# Settings (environment): PORTAL_CLUSTER_DIR (default /tmp/portal-cluster), CLUSTER_FRONT_PORT (8080),
# CLUSTER_NODE_PORTS ("8101 8102"), CLUSTER_S3_PORT (9101), CLUSTER_REDIS_DB (13),
# CLUSTER_DATABASE (portal_cluster), CLUSTER_WORKERS (4 gunicorn workers per node), CLUSTER_APP (the
# nodes' WSGI app, wsgi:app) and CLUSTER_PYTHONPATH (where else it may be found; bench/cluster_bench.py).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${PORTAL_CLUSTER_DIR:-/tmp/portal-cluster}
FRONT_PORT=${CLUSTER_FRONT_PORT:-8080}
NODE_PORTS=${CLUSTER_NODE_PORTS:-"8101 8102"}
S3_PORT=${CLUSTER_S3_PORT:-9101}
REDIS_DB=${CLUSTER_REDIS_DB:-13}
OWN_REDIS_PORT=6391  # used only when no Redis answers on 6379
DATABASE=${CLUSTER_DATABASE:-portal_cluster}
WORKERS=${CLUSTER_WORKERS:-4}
APP=${CLUSTER_APP:-wsgi:app}
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '%s\n' "$*"; }
fail() { printf 'local-cluster: %s\n' "$*" >&2; exit 1; }

install_missing() {
  local packages=()
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || packages+=(nginx)
  command -v redis-server >/dev/null || packages+=(redis-server redis-tools)
  command -v pg_dump >/dev/null || packages+=(postgresql-client)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || packages+=(postgresql)
  command -v curl >/dev/null || packages+=(curl)
  if [ ${#packages[@]} -gt 0 ]; then
    say "installing ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
  if [ ! -x "$PY" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV"
  fi
  if [ ! -x "$VENV/bin/moto_server" ] || ! "$PY" -c "import rq, prometheus_client, portal" 2>/dev/null; then
    say "installing the portal into $VENV"
    "$VENV/bin/pip" install -q -e "$ROOT[test]"
  fi
}

started() { [ -f "$STATE/started" ] && grep -qx "$1" "$STATE/started"; }
remember() { echo "$1" >> "$STATE/started"; }

start_postgres() {
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    local version
    version=$(ls /etc/postgresql | head -n 1)
    [ -n "$version" ] || fail "no PostgreSQL cluster configured (pg_createcluster)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    remember "postgres $version"
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS \"$DATABASE\" WITH (FORCE)"
  psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE \"$DATABASE\""
  remember "database $DATABASE"
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB"
  else
    redis-server --daemonize yes --bind 127.0.0.1 --port "$OWN_REDIS_PORT" --save "" --appendonly no \
      --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log"
    remember "redis"
    for _ in $(seq 1 30); do redis-cli -p "$OWN_REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
    REDIS_URL="redis://127.0.0.1:$OWN_REDIS_PORT/$REDIS_DB"
  fi
  redis-cli -u "$REDIS_URL" flushdb >/dev/null
}

background() {  # background NAME COMMAND…: a process of its own session, its pid in $STATE/NAME.pid
  local name=$1; shift
  setsid "$@" >>"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! > "$STATE/$name.pid"
  remember "pid $name"
}

wait_for() {  # wait_for URL SECONDS
  for _ in $(seq 1 $(( $2 * 5 ))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  fail "$1 did not answer within $2 s (logs in $STATE)"
}

write_env() {
  local secret
  secret=$("$PY" -c "import secrets; print(secrets.token_hex(32))")
  cat > "$STATE/portal.env" <<ENV
export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/$DATABASE
export REDIS_URL=$REDIS_URL
export STORAGE_URL='minio://cluster-access:cluster-secret@127.0.0.1:$S3_PORT/portal?secure=false'
export SECRET_KEY=$secret
export PORTAL_INSTANCE_PATH=$STATE/instance
export PROXY_COUNT=1
export TZ=Asia/Shanghai
export LOG_JSON=true
ENV
  chmod 600 "$STATE/portal.env"
}

write_nginx() {
  mkdir -p "$STATE/nginx-tmp"
  sed "s#/srv/portal#$ROOT#g" "$ROOT/deploy/nginx/portal-locations.conf" > "$STATE/portal-locations.conf"
  local servers=""
  for port in $NODE_PORTS; do servers+="        server 127.0.0.1:$port max_fails=3 fail_timeout=10s;"$'\n'; done
  # the site of deploy/nginx/portal.conf without TLS (no certificate here), on 127.0.0.1 only
  cat > "$STATE/nginx.conf" <<NGINX
daemon on;
worker_processes 2;
pid $STATE/nginx.pid;
error_log $STATE/nginx-error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path $STATE/nginx-tmp/body;
    proxy_temp_path $STATE/nginx-tmp/proxy;
    fastcgi_temp_path $STATE/nginx-tmp/fastcgi;
    uwsgi_temp_path $STATE/nginx-tmp/uwsgi;
    scgi_temp_path $STATE/nginx-tmp/scgi;
$(sed -n '/^log_format/,/;$/p' "$ROOT/deploy/nginx/portal.conf")
    access_log $STATE/nginx-access.log portal_json;
    upstream portal_app {
$servers        keepalive 32;
        keepalive_timeout 60s;
    }
    server {
        listen 127.0.0.1:$FRONT_PORT;
        server_name _;
        include $STATE/portal-locations.conf;
    }
}
NGINX
}

up() {
  [ ! -f "$STATE/started" ] || fail "already up ($STATE); run '$0 down' first"
  mkdir -p "$STATE/instance"
  : > "$STATE/started"
  install_missing
  start_postgres
  start_redis
  background s3 "$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT"
  wait_for "http://127.0.0.1:$S3_PORT/" 30
  write_env
  # shellcheck disable=SC1091
  source "$STATE/portal.env"
  cd "$ROOT"
  say "init --demo (migrations, seeds, demo data; passwords in $STATE/init.log)"
  "$VENV/bin/flask" --app wsgi init --demo > "$STATE/init.log" 2>&1 || { cat "$STATE/init.log" >&2; fail "init failed"; }
  chmod 600 "$STATE/init.log"
  local n=0
  for port in $NODE_PORTS; do
    n=$((n + 1))
    NODE_NAME=node$n PORTAL_BIND=127.0.0.1:$port PORTAL_WORKERS=$WORKERS \
      PROMETHEUS_MULTIPROC_DIR="$STATE/metrics-node$n" PYTHONPATH="${CLUSTER_PYTHONPATH:+$CLUSTER_PYTHONPATH:}$ROOT" \
      background "node$n" "$VENV/bin/gunicorn" -c "$ROOT/deploy/gunicorn.conf.py" "$APP"
  done
  NODE_NAME=worker background worker "$VENV/bin/flask" --app wsgi worker
  NODE_NAME=scheduler background scheduler "$VENV/bin/flask" --app wsgi scheduler
  write_nginx
  nginx -t -q -c "$STATE/nginx.conf" -g "user root;" 2>>"$STATE/nginx-error.log" || fail "nginx configuration (see $STATE/nginx-error.log)"
  nginx -c "$STATE/nginx.conf" -g "user root;"
  remember "nginx"
  for port in $NODE_PORTS; do wait_for "http://127.0.0.1:$port/readyz" 60; done
  wait_for "http://127.0.0.1:$FRONT_PORT/readyz" 30
  say "up: http://127.0.0.1:$FRONT_PORT (nodes on $NODE_PORTS, S3 on $S3_PORT, Redis $REDIS_URL, database $DATABASE)"
}

check() {
  [ -f "$STATE/started" ] || fail "not up; run '$0 up' first"
  "$PY" "$ROOT/deploy/smoke.py" --state "$STATE" --front "http://127.0.0.1:$FRONT_PORT" \
    $(for port in $NODE_PORTS; do printf -- '--node http://127.0.0.1:%s ' "$port"; done)
}

stop_pid() {  # stop_pid NAME: TERM the process (and its session), wait, then KILL what is left
  local file="$STATE/$1.pid" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

down() {
  [ -f "$STATE/started" ] || { say "nothing to stop ($STATE/started is missing)"; return 0; }
  local redis_url=""
  [ -f "$STATE/portal.env" ] && redis_url=$(sed -n 's/^export REDIS_URL=//p' "$STATE/portal.env")
  # in reverse order of starting
  if started nginx && [ -f "$STATE/nginx.pid" ]; then
    nginx -c "$STATE/nginx.conf" -g "user root;" -s quit 2>/dev/null || true
    for _ in $(seq 1 50); do [ -f "$STATE/nginx.pid" ] || break; sleep 0.2; done
  fi
  for name in scheduler worker $(for i in $(seq 1 9); do echo "node$i"; done) s3; do
    started "pid $name" && stop_pid "$name"
  done
  if [ -n "$redis_url" ]; then redis-cli -u "$redis_url" flushdb >/dev/null 2>&1 || true; fi
  if started redis && [ -f "$STATE/redis.pid" ]; then kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true; fi
  if started "database $DATABASE"; then
    psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS \"$DATABASE\" WITH (FORCE)" || true
  fi
  local pg
  pg=$(sed -n 's/^postgres //p' "$STATE/started")
  if [ -n "$pg" ]; then pg_ctlcluster --skip-systemctl-redirect "$pg" main stop || true; fi
  rm -rf "$STATE"
  say "down: stopped what up started"
}

case "${1:-}" in
  up) up ;;
  check) check ;;
  down) down ;;
  *) echo "usage: $0 up|check|down" >&2; exit 2 ;;
esac

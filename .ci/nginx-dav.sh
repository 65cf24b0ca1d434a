#!/usr/bin/env bash
# Starts or stops a private nginx WebDAV server on loopback for the publish tests (and CI).
#
#   .ci/nginx-dav.sh start <port> <root-dir>   install nginx if missing, serve <root-dir> on 127.0.0.1:<port>
#   .ci/nginx-dav.sh stop [<port>]             stop the instance on <port>, or every instance this script started
#
# State (config, pid, logs, body temp files) lives in ${NGINX_DAV_STATE:-${TMPDIR:-/tmp}}/nginx-dav-<port>.
# The server runs as root ("user root;") so it can write any root directory; it never touches the system nginx.
# Exits non-zero with a message on any failure (nginx missing and not installable, no DAV module, not answering).
set -euo pipefail

STATE_BASE="${NGINX_DAV_STATE:-${TMPDIR:-/tmp}}"

die() { echo "nginx-dav: $*" >&2; exit 1; }

find_nginx() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}

install_nginx() {
    echo "nginx-dav: nginx not found, installing it with apt-get" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "nginx is not installed and this is not root (no sudo); install nginx (Debian: apt-get install nginx)"
        sudo="sudo -n"
    fi
    command -v apt-get >/dev/null 2>&1 || die "nginx is not installed and apt-get is unavailable; install nginx with the DAV module"
    # The package's postinst may fail to start the system service (no init, port 80 taken): that is not our concern
    # as long as the binary is there afterwards.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || echo "nginx-dav: apt-get update failed" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >&2 \
        || echo "nginx-dav: apt-get install nginx reported an error; checking for the binary anyway" >&2
}

wait_answering() {
    local port=$1 i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'HEAD / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 \
                && head -c 8 <&3 | grep -q '^HTTP/1\.') 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

stop_dir() {
    local dir=$1 pid
    [ -f "$dir/nginx.pid" ] || { rm -rf "$dir"; return 0; }
    pid=$(cat "$dir/nginx.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

start() {
    [ $# -eq 2 ] || die "usage: $0 start <port> <root-dir>"
    local port=$1 root=$2
    [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad port: $port"
    mkdir -p "$root" || die "cannot create root directory $root"
    root=$(cd "$root" && pwd -P)
    case "$root" in *[[:space:]\;\{\}\"\'\$]*) die "root directory path has characters nginx.conf cannot hold: $root";; esac

    local nginx
    nginx=$(find_nginx)
    if [ -z "$nginx" ]; then
        install_nginx
        nginx=$(find_nginx)
        [ -n "$nginx" ] || die "nginx is still not installed after apt-get install nginx"
    fi
    "$nginx" -V 2>&1 | grep -q with-http_dav_module \
        || die "$nginx lacks ngx_http_dav_module (Debian: install nginx, nginx-light or nginx-core)"

    local dir="$STATE_BASE/nginx-dav-$port"
    stop_dir "$dir"
    mkdir -p "$dir/body"
    cat >"$dir/nginx.conf" <<CONF
user root;
daemon on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
    types { }
    default_type application/octet-stream;
    access_log $dir/access.log;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/body;
    fastcgi_temp_path $dir/body;
    uwsgi_temp_path $dir/body;
    scgi_temp_path $dir/body;
    sendfile on;
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        location / {
            root $root;
            dav_methods PUT DELETE MKCOL COPY MOVE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
            client_max_body_size 0;
            autoindex off;
        }
    }
}
CONF
    "$nginx" -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
        || die "nginx rejected $dir/nginx.conf: $(tail -n 5 "$dir/error.log" 2>/dev/null)"
    "$nginx" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
        || die "nginx failed to start on 127.0.0.1:$port: $(tail -n 5 "$dir/error.log" 2>/dev/null)"
    wait_answering "$port" \
        || { local log; log=$(tail -n 5 "$dir/error.log" 2>/dev/null); stop_dir "$dir"; die "nginx is not answering on 127.0.0.1:$port: $log"; }
    echo "nginx-dav: serving $root at http://127.0.0.1:$port/ (state in $dir)"
}

stop() {
    if [ $# -ge 1 ]; then
        stop_dir "$STATE_BASE/nginx-dav-$1"
    else
        local d
        for d in "$STATE_BASE"/nginx-dav-*; do
            [ -d "$d" ] && stop_dir "$d"
        done
    fi
    return 0
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) die "usage: $0 start <port> <root-dir> | stop [<port>]" ;;
esac

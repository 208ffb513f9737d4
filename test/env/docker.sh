#!/usr/bin/env bash
# Start or stop a private Docker engine for the test suite.
#   docker.sh start <dir>   starts dockerd with its socket at <dir>/docker.sock, prints DOCKER_HOST
#   docker.sh halt <dir>    stops that dockerd (by pid), keeping its state for another start
#   docker.sh stop <dir>    stops the dockerd started in <dir> (by pid) and removes its state
# Networking is off (no bridge, no iptables): test containers run with --network none.
set -euo pipefail
cmd=${1:?usage: docker.sh start|stop <dir>}
dir=${2:?usage: docker.sh start|stop <dir>}
image=${SHIPLOG_TEST_IMAGE:-shiplog-test/busybox:latest}

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing+=(busybox-static)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "docker.sh: installing ${missing[*]}" >&2
    if [ "$(id -u)" = 0 ]; then
      apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
    else
      echo "docker.sh: need ${missing[*]} (apt-get install them, or set DOCKER_HOST)" >&2; exit 1
    fi
  fi
}

start() {
  ensure_packages
  mkdir -p "$dir"
  local sock="$dir/docker.sock"
  local driver=${SHIPLOG_TEST_STORAGE_DRIVER:-}
  local args=(--host "unix://$sock" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid"
    --bridge=none --iptables=false --ip6tables=false --log-level=warn)
  [ -n "$driver" ] && args+=(--storage-driver "$driver")
  # setsid: dockerd gets its own session so a test runner's signals do not reach it directly.
  setsid dockerd "${args[@]}" >"$dir/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$dir/dockerd.launcher.pid"
  for _ in $(seq 1 150); do
    if [ -S "$sock" ] && DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then break; fi
    if ! kill -0 "$(cat "$dir/dockerd.launcher.pid")" 2>/dev/null; then
      echo "docker.sh: dockerd exited; its log:" >&2; tail -n 30 "$dir/dockerd.log" >&2; exit 1
    fi
    sleep 0.2
  done
  DOCKER_HOST="unix://$sock" docker version >/dev/null || { echo "docker.sh: dockerd did not answer" >&2; tail -n 30 "$dir/dockerd.log" >&2; exit 1; }
  if ! DOCKER_HOST="unix://$sock" docker image inspect "$image" >/dev/null 2>&1; then
    local root="$dir/rootfs"
    rm -rf "$root"; mkdir -p "$root/bin" "$root/tmp" "$root/etc"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
      [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
    tar -C "$root" -cf "$dir/rootfs.tar" .
    DOCKER_HOST="unix://$sock" docker import --change 'CMD ["/bin/sh"]' "$dir/rootfs.tar" "$image" >/dev/null
    rm -rf "$root" "$dir/rootfs.tar"
  fi
  echo "unix://$sock"
}

# Stops dockerd (by pid) but keeps its data, so that `start` on the same dir brings it back.
halt() {
  local pidfile="$dir/dockerd.launcher.pid"
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
    fi
    rm -f "$pidfile"
  fi
}

stop() {
  local pidfile="$dir/dockerd.launcher.pid"
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      # Remove our test containers first so their shims exit with the daemon.
      DOCKER_HOST="unix://$dir/docker.sock" docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$dir/docker.sock" docker rm -f >/dev/null 2>&1 || true
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
    fi
    rm -f "$pidfile"
  fi
  # Data root holds overlay mounts while dockerd runs; after it exits it can be removed.
  umount -R "$dir/data" 2>/dev/null || true
  rm -rf "$dir" 2>/dev/null || true
}

case "$cmd" in
  start) start ;;
  halt) halt ;;
  stop) stop ;;
  *) echo "usage: docker.sh start|halt|stop <dir>" >&2; exit 2 ;;
esac

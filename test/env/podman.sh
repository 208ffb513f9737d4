#!/usr/bin/env bash
# A private Podman engine with its Docker-compatible API socket, for the Podman test:
#   podman.sh start <dir>   -> prints unix://<dir>/podman.sock when it answers /_ping
#   podman.sh stop <dir>
#   podman.sh cli <dir> ARGS...   (podman with the same storage, e.g. run/rm)
# Rootful with its own storage under <dir> (vfs: no overlay mounts needed), cgroupfs (no
# systemd here), events in a file. A test image shiplog-test/busybox is imported from the
# static busybox (nothing is pulled). Containers need lowered rlimits here: the sandbox has no
# CAP_SYS_RESOURCE, and Podman's default nofile/nproc limits are above the current ones.
set -euo pipefail
cmd=${1:?start|stop|cli}; dir=${2:?dir}; shift 2
P=(podman --root "$dir/root" --runroot "$dir/run" --storage-driver vfs --cgroup-manager cgroupfs --events-backend file --tmpdir "$dir/tmp")
case "$cmd" in
  start)
    mkdir -p "$dir/tmp" "$dir/rootfs/bin"
    if ! "${P[@]}" image exists localhost/shiplog-test/busybox:latest 2>/dev/null; then
      cp /bin/busybox "$dir/rootfs/bin/busybox"
      for c in sh echo sleep seq cat yes head sed printf; do ln -sf busybox "$dir/rootfs/bin/$c"; done
      tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
      "${P[@]}" import "$dir/rootfs.tar" localhost/shiplog-test/busybox:latest >/dev/null
    fi
    setsid "${P[@]}" system service --time=0 "unix://$dir/podman.sock" >"$dir/service.log" 2>&1 < /dev/null &
    echo $! >"$dir/service.pid"
    for _ in $(seq 1 100); do
      if curl -sf --unix-socket "$dir/podman.sock" http://d/_ping >/dev/null 2>&1; then echo "unix://$dir/podman.sock"; exit 0; fi
      sleep 0.2
    done
    echo "podman.sh: the API did not answer; $(tail -5 "$dir/service.log")" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/service.pid" ]; then kill "$(cat "$dir/service.pid")" 2>/dev/null || true; rm -f "$dir/service.pid"; fi
    "${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
    ;;
  cli)
    exec "${P[@]}" "$@"
    ;;
esac

#!/usr/bin/env bash
# Images the Dockerfile test needs, made without a registry (none can be reached here):
#   node-runtime <tag>: this machine's Node binary and the libraries it links, busybox for
#     RUN steps, a `node` user (uid 1000) — stands in for NODE_IMAGE;
#   app <tag>: this checkout's compiled app under /src (dist, schema, package.json, production
#     node_modules without the embedded engine) — stands in for the Dockerfile's build stage.
# DOCKER_HOST must point at the test dockerd. Usage: image-parts.sh node-runtime|app <tag>
set -euo pipefail
root_dir="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case "${1:-}" in
  node-runtime)
    r="$work/rootfs"
    mkdir -p "$r/bin" "$r/usr/local/bin" "$r/etc" "$r/tmp" "$r/home/node"
    node_bin=$(readlink -f "$(command -v node)")
    cp "$node_bin" "$r/usr/local/bin/node"
    # The loader and every library node links against, at the same paths.
    for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
      mkdir -p "$r$(dirname "$lib")"
      cp -L "$lib" "$r$lib"
    done
    cp /bin/busybox "$r/bin/busybox"
    for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$r/bin/$applet"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' > "$r/etc/passwd"
    printf 'root:x:0:\nnode:x:1000:\n' > "$r/etc/group"
    chown 1000:1000 "$r/home/node"
    chmod 1777 "$r/tmp"
    tar -C "$r" -cf "$work/rootfs.tar" .
    docker import --change 'ENV PATH=/usr/local/bin:/bin' --change 'CMD ["node"]' "$work/rootfs.tar" "$2" >/dev/null
    ;;
  app)
    s="$work/rootfs/src"
    mkdir -p "$s"
    cp -r "$root_dir/dist" "$root_dir/schema" "$root_dir/package.json" "$root_dir/package-lock.json" "$s/"
    tar -C "$root_dir" --exclude='node_modules/chdb' --exclude='node_modules/@chdb' --exclude='node_modules/chdb-*' -cf - node_modules | tar -C "$s" -xf -
    (cd "$s" && npm prune --omit=dev --offline --no-audit --no-fund >/dev/null 2>&1) || echo "image-parts: npm prune failed; the app keeps its dev dependencies" >&2
    tar -C "$work/rootfs" -cf "$work/app.tar" .
    docker import "$work/app.tar" "$2" >/dev/null
    ;;
  *)
    echo "usage: $0 node-runtime|app <tag>" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (as root): Docker engine,
# static busybox (for the test image), kcat, Java + Maven (Kafka broker), Prometheus (scrape
# tests), amtool and docker-compose (deployment files are validated). No-op when present.
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
command -v kcat >/dev/null || need+=(kcat)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v docker-compose >/dev/null || need+=(docker-compose)
# The web page is tested in headless Chromium (Debian's package; puppeteer-core drives it, nothing is downloaded).
command -v chromium >/dev/null || need+=(chromium)
# The agent is tested on Podman's Docker-compatible API too (test/env/podman.sh).
command -v podman >/dev/null || need+=(podman)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${need[*]}" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

# Schemathesis (PyPI), for the API fuzz run (test/integration/up/api-fuzz.test.ts), pinned, in a
# venv of its own under the test cache.
st_version=4.32.5
st_dir=${SHIPLOG_TEST_CACHE:-$HOME/.cache/shiplog-test}/schemathesis-$st_version
if [ ! -x "$st_dir/bin/st" ]; then
  if ! python3 -m venv --help >/dev/null 2>&1; then
    echo "install-deps: apt-get install python3-venv" >&2
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >&2
  fi
  rm -rf "$st_dir"
  python3 -m venv "$st_dir" >&2
  "$st_dir/bin/pip" install -q "schemathesis==$st_version" >&2
fi

# Helm (Go module proxy, built once into the test cache) and the Kubernetes manifest checker
# (test/env/k8s-validate: the API's own Go types, offline), for test/integration/deploy/kubernetes.test.ts.
helm_version=v3.22.0
go_bin=${SHIPLOG_TEST_CACHE:-$HOME/.cache/shiplog-test}/go-bin
if [ ! -x "$go_bin/helm-$helm_version" ]; then
  if ! command -v go >/dev/null; then
    echo "install-deps: Go is needed to build helm and the manifest checker (apt-get install golang)" >&2
    exit 1
  fi
  echo "install-deps: go install helm.sh/helm/v3/cmd/helm@$helm_version" >&2
  mkdir -p "$go_bin"
  GOBIN="$go_bin" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$helm_version" >&2
  mv "$go_bin/helm" "$go_bin/helm-$helm_version"
fi
(cd "$(dirname "$0")/k8s-validate" && GOFLAGS=-mod=mod go build -o "$go_bin/k8s-validate" . >&2)

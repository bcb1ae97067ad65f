#!/usr/bin/env bash
# Makes sure a Docker engine answers and the Docker executor's test images exist (scripts/test.sh
# runs it; so can you). On a fresh machine of this project's kind (root, Debian, no registry
# reachable) it installs Debian's docker.io, starts dockerd with the vfs storage driver and
# without iptables or a bridge, and builds the images from busybox-static with `docker import`.
#
# Exit status: 0 when the engine answers and the images exist; 1 otherwise, with the reason on
# stderr. The Docker tests read DOCKET_DOCKER_UNAVAILABLE (written below) to say why they
# cannot run; with CI=true they fail rather than skip.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build
reason_file=.build/docker-unavailable
rm -f "$reason_file"

fail() { echo "docker-engine.sh: $*" >&2; echo "$*" >"$reason_file"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1; }

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "no Docker engine answers and this user is not root, so none can be installed or started; start dockerd (or set DOCKER_HOST) and run again."
  if ! need dockerd || ! need busybox; then
    echo "docker-engine.sh: installing docker.io and busybox-static" >&2
    (apt-get update -qq && apt-get install -y -qq docker.io busybox-static) >/dev/null 2>&1 \
      || fail "apt-get install docker.io busybox-static failed; install a Docker engine by hand."
  fi
  echo "docker-engine.sh: starting dockerd (vfs storage, no iptables, no bridge)" >&2
  nohup dockerd --storage-driver=vfs --iptables=false --bridge=none >/tmp/docket-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || fail "dockerd did not answer within 30 s; see /tmp/docket-dockerd.log."
fi

# docket-test/busybox:1: busybox with its applet links, and an /etc/passwd naming root and nobody.
if ! docker image inspect docket-test/busybox:1 >/dev/null 2>&1; then
  need busybox || fail "busybox is not installed (apt-get install busybox-static), so the test image cannot be built."
  rootfs=$(mktemp -d)
  chmod 755 "$rootfs"  # mktemp makes it 0700: only root could enter the image's /
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  chmod 1777 "$rootfs/tmp"
  cp "$(command -v busybox)" "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - docket-test/busybox:1 >/dev/null \
    || fail "docker import of the busybox test image failed."
  rm -rf "$rootfs"
fi
echo "docker-engine.sh: engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) ready; image docket-test/busybox:1 present" >&2

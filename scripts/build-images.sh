#!/usr/bin/env bash
# Builds the container images `verify --runtime docker` uses, from Debian
# packages and without any registry: debootstrap a minimal bookworm with
# mosquitto, haproxy, socat, age (the backup drill encrypts with it), nginx
# with its stream module and keepalived (the NGINX and VIP failover probes),
# then `docker import` it under both tags. One root filesystem for every
# role: the packages share most of their libraries, so one image is smaller
# and quicker to build than two.
# Usage: scripts/build-images.sh [MOSQUITTO_IMAGE [HAPROXY_IMAGE]]
set -euo pipefail

mosquitto_image=${1:-mqttforge-local/mosquitto:2.0.11}
haproxy_image=${2:-mqttforge-local/haproxy:2.6.12}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Present and complete (an image built before age, nginx or keepalived was
# added is rebuilt).
complete='command -v mosquitto && command -v age && command -v haproxy && command -v keepalived &&
  command -v nginx && test -f /usr/lib/nginx/modules/ngx_stream_module.so'
if docker run --rm --network none "$mosquitto_image" sh -c "$complete" >/dev/null 2>&1 &&
  docker run --rm --network none "$haproxy_image" sh -c "$complete" >/dev/null 2>&1; then
  echo "images present: $mosquitto_image $haproxy_image"
  exit 0
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi
work=$(mktemp -d)
trap '"${sudo[@]}" rm -rf -- "$work"' EXIT
packages=mosquitto,haproxy,socat,age,nginx,libnginx-mod-stream,keepalived
echo "debootstrap bookworm ($packages) from $mirror"
"${sudo[@]}" debootstrap --variant=minbase --include="$packages" bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
"${sudo[@]}" chroot "$work/rootfs" apt-get clean
"${sudo[@]}" tar -C "$work/rootfs" -c . | docker import -m "mqttforge: Debian bookworm with $packages" - "$mosquitto_image"
docker tag "$mosquitto_image" "$haproxy_image"
echo "built $mosquitto_image and $haproxy_image"

#!/usr/bin/env bash
# Builds a minimal local Consul image from the binary that get-consul.sh provides, for
# machines where no registry can serve hashicorp/consul. Usage: build-consul-image.sh TAG
set -euo pipefail
tag="${1:?usage: build-consul-image.sh TAG}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$(bash "$root/scripts/get-consul.sh")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fs="$work/rootfs"
mkdir -p "$fs/bin" "$fs/lib/x86_64-linux-gnu" "$fs/lib64" "$fs/etc" "$fs/tmp" "$fs/consul/data"
cp "$bin" "$fs/bin/consul"
# The Debian build is dynamically linked against glibc only; copy exactly what ldd names.
ldd "$bin" | awk '/=>/ {print $3} !/=>/ && /^\s*\// {print $1}' | while read -r lib; do
  [ -n "$lib" ] && [ -f "$lib" ] || continue
  case "$lib" in
    /lib64/*) cp -L "$lib" "$fs/lib64/" ;;
    *) cp -L "$lib" "$fs/lib/x86_64-linux-gnu/" ;;
  esac
done
[ -f "$fs/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$fs/lib64/"
echo 'root:x:0:0:root:/root:/bin/consul' > "$fs/etc/passwd"
chmod 1777 "$fs/tmp"
tar -C "$fs" -cf "$work/rootfs.tar" .
docker import -c 'ENTRYPOINT ["/bin/consul"]' "$work/rootfs.tar" "$tag" >/dev/null
echo "[build-consul-image] built $tag from $bin" >&2

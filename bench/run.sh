#!/usr/bin/env bash
# Benchmarks ppms-depot against nginx (dav_methods PUT) and dufs on 127.0.0.1, on the same local
# disk, TLS off; prints one table and writes it to bench/RESULTS.md. See bench/README.md.
#
# Installs what is missing: nginx, wrk and curl with apt-get, dufs with `cargo install` into
# $BENCH_CACHE (default ~/.cache/ppms-bench). Builds ppms-depot in release mode (honours
# CARGO_TARGET_DIR). Work files (about 3 GiB at most) go to a temp dir under $BENCH_DIR
# (default /var/tmp), removed at the end. Bounded: the measuring part stops after 15 minutes.
# Extra arguments go to bench.py (e.g. --quick: one repetition, for trying the harness).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${BENCH_CACHE:-$HOME/.cache/ppms-bench}"
target="${CARGO_TARGET_DIR:-$root/target}"

missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
    echo "installing ${missing[*]} with apt-get" >&2
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    # No service is started by the package: nginx runs below as our own child, on 127.0.0.1.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
nginx -V 2>&1 | grep -q -- --with-http_dav_module || {
    echo "this nginx has no dav module (dav_methods PUT)" >&2
    exit 1
}

dufs="$cache/bin/dufs"
if [[ ! -x $dufs ]]; then
    echo "installing dufs into $cache (about 2 minutes)" >&2
    cargo install dufs --locked --root "$cache" --quiet
fi

echo "building ppms-depot (release) in $target" >&2
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release --quiet)

work="$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" ppms-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "work directory: $work ($(df -h --output=source,fstype "$work" | tail -1))" >&2

BENCH_DUFS="$dufs" timeout --signal=TERM --kill-after=30s 15m \
    python3 "$root/bench/bench.py" --ppms "$target/release/ppms-depot" --dufs "$dufs" \
    --work "$work" "$@"

#!/usr/bin/env bash
# Side-by-side benchmark: sluiced (one worker on CPU 0) against redis-server
# 7.0 (on CPU 0), load generated from CPU 1. Prints markdown tables of medians
# and sluice/redis ratios; --write also records them in perf/RESULTS.md.
# Methodology and targets: perf/RESULTS.md. The work is done by perf/bench.py.
#
# The script does not build sluiced; build it first:
#   meson setup build --buildtype=release && ninja -C build
set -euo pipefail

usage() {
    cat <<'EOF'
usage: perf/bench.sh [options]

  --sluiced PATH    sluiced binary (env SLUICED; default build/dataplane/sluiced
                    relative to the repository root)
  --rounds N        rounds per configuration, medians reported (env ROUNDS; 3)
  --quick           1 round, fewer requests, 200k keys instead of 1M (env QUICK=1)
  --only LIST       comma list of sections: throughput,memory,expiry (env SECTIONS)
  --dry-run         run redis-server in the sluice role too, to check the
                    script itself (env DRY_RUN=1)
  --write           add or refresh today's section in perf/RESULTS.md
  --note TEXT       a line of free text for that section (env NOTE)
  -h, --help        this text

other environment: REDIS_SERVER (redis-server binary), SLUICED_ARGS (extra
sluiced arguments), TTL_MS (expiry test TTL, default 2000), QUIET_WAIT (max
seconds to wait for an idle machine before each timed run, default 30).
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# The command line as a developer would retype it, recorded by --write.
shq() {
    if [[ $1 =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}
cmdline="perf/bench.sh"
for v in SLUICED ROUNDS QUICK SECTIONS DRY_RUN REDIS_SERVER SLUICED_ARGS TTL_MS NOTE QUIET_WAIT; do
    if [[ -n "${!v:-}" ]]; then cmdline="$v=$(shq "${!v}") $cmdline"; fi
done
for a in "$@"; do cmdline="$cmdline $(shq "$a")"; done

sluiced=${SLUICED:-$repo/build/dataplane/sluiced}
rounds=${ROUNDS:-}
quick=${QUICK:-0}
sections=${SECTIONS:-throughput,memory,expiry}
dry_run=${DRY_RUN:-0}
write=0
note=${NOTE:-}

while [[ $# -gt 0 ]]; do
    case $1 in
    --sluiced) sluiced=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --only) sections=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --write) write=1; shift ;;
    --note) note=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
if [[ -z $rounds ]]; then
    if [[ $quick == 1 ]]; then rounds=1; else rounds=3; fi
fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: bad --rounds '$rounds'" >&2; exit 2; }

die() { echo "bench.sh: $*" >&2; exit 1; }
redis_server=${REDIS_SERVER:-redis-server}
for tool in "$redis_server" redis-benchmark redis-cli taskset; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install redis-server redis-tools util-linux)"
done
"$redis_server" --version | grep -q ' v=7\.0\.' ||
    echo "bench.sh: warning: $("$redis_server" --version | cut -d' ' -f1-3) is not 7.0.x" >&2
[[ $(nproc) -ge 2 ]] || die "needs 2 CPUs (server on CPU 0, client on CPU 1)"
if [[ $dry_run != 1 ]]; then
    [[ -x $sluiced ]] || die "no sluiced at '$sluiced' (build: meson setup build --buildtype=release && ninja -C build; or --sluiced PATH)"
    sluiced=$(cd "$(dirname "$sluiced")" && pwd)/$(basename "$sluiced")
fi

export BENCH_REPO=$repo BENCH_ROUNDS=$rounds BENCH_QUICK=$quick \
    BENCH_DRY_RUN=$dry_run BENCH_WRITE=$write BENCH_SLUICED=$sluiced \
    BENCH_SLUICED_ARGS=${SLUICED_ARGS:-} BENCH_REDIS_SERVER=$redis_server \
    BENCH_CMDLINE=$cmdline BENCH_SECTIONS=$sections \
    BENCH_TTL_MS=${TTL_MS:-2000} BENCH_NOTE=$note \
    BENCH_QUIET_WAIT=${QUIET_WAIT:-30}
exec /usr/bin/python3 "$here/bench.py"

#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (see README.md):
#
#   ./setup.sh start   install what is missing, build (release), run sluiced on
#                      127.0.0.1:6379 in the foreground with firmware-cfg/sluice.conf
#   ./setup.sh test    install what is missing, build, and run every test:
#                      unit (Criterion), differential (against redis-server
#                      7.0, with one and with four workers), a cross-shard
#                      stress run, integration (redis-py, redis-cli), crash
#                      safety of the append-only file, a bounded fuzz run,
#                      the ring under TSan, then all of it again but the
#                      crash tests and the fuzzer on an ASan/UBSan build.
#
# Extra arguments after `start` are passed to sluiced (e.g. --port 7000).
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DEPS=(gcc pkg-config meson ninja-build liburing-dev libjemalloc-dev libcriterion-dev)
TEST_DEPS=(redis-server redis-tools python3-redis python3-pytest clang libclang-rt-14-dev
           libfuse3-dev fuse3)

log() { printf '\n==> [%s] %s\n' "$(date +%T)" "$*"; }

install_missing() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    # Keep package scripts from starting services (redis-server would take
    # port 6379): a temporary policy-rc.d refuses service starts.
    local policy=/usr/sbin/policy-rc.d added=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod +x "$policy"
        added=1
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    [ $added -eq 1 ] && "${sudo[@]}" rm -f "$policy"
    return 0
}

build() { # dir, extra meson args...
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir" >/dev/null
}

cmd_start() {
    install_missing "${BUILD_DEPS[@]}"
    log "building (release)"
    build build-release --buildtype=release -Dtests=false
    log "starting sluiced on 127.0.0.1:6379 (Ctrl-C stops it)"
    exec build-release/dataplane/sluiced firmware-cfg/sluice.conf "$@"
}

run_suite() { # build dir, label
    local dir=$1 label=$2
    local bin="$PWD/$dir/dataplane/sluiced"
    log "[$label] unit tests"
    meson test -C "$dir" --suite unit --print-errorlogs
    # (the sanitizer pass runs the differential cases with four workers only:
    # the same handlers, and the whole command stays within 15 minutes)
    if [ "$label" != asan ]; then
        log "[$label] differential tests against redis-server (one worker)"
        SLUICED="$bin" /usr/bin/python3 tests/diff/diffharness.py
    fi
    log "[$label] differential tests against redis-server (4 workers on 2 cores)"
    SLUICED="$bin" SLUICED_ARGS="--dataplane-cores 0,1,0,1" /usr/bin/python3 tests/diff/diffharness.py
    log "[$label] every differential case replayed from the AOF (DEBUG LOADAOF keeps the digest)"
    # bits.txt makes 512 MB strings: too slow to log and reload twice.
    SLUICED="$bin" SLUICED_ARGS="--dataplane-cores 0,1,0,1" /usr/bin/python3 tests/diff/diffharness.py \
        --aof-check $(ls tests/diff/cases/*.txt | grep -v '/bits\.txt$')
    log "[$label] cross-shard transfer stress (4 workers, bounded)"
    SLUICED="$bin" SLUICED_ARGS="--dataplane-cores 0,1,0,1" \
        /usr/bin/python3 tests/stress/transfer_stress.py --seconds "${STRESS_SECONDS:-15}" --timeout 15
    log "[$label] integration tests"
    SLUICED="$bin" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
}

cmd_test() {
    install_missing "${BUILD_DEPS[@]}" "${TEST_DEPS[@]}"
    log "building (debug, -Werror)"
    build build
    # The start command's build (-O3 warns where -O2 does not): it must build too.
    log "building (release, as ./setup.sh start does)"
    build build-release --buildtype=release -Dtests=false
    run_suite build default
    log "crash safety of the append-only file (kill -9, power cuts on powerfs, ENOSPC; bounded)"
    # (`--server redis` runs the same against redis-server 7.0, which checks
    # the harness itself; two of its tests are known to fail there.)
    SLUICED="$PWD/build/dataplane/sluiced" timeout 600 \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/crash --server sluice
    log "fuzzing the RESP parser (bounded)"
    tests/fuzz/run.sh "${FUZZ_SECONDS:-30}"
    log "fuzzing the RDB loader and the AOF parsers (bounded)"
    tests/fuzz/run.sh rdb "${FUZZ_SHORT_SECONDS:-10}"
    tests/fuzz/run.sh aof "${FUZZ_SHORT_SECONDS:-10}"
    log "ring under ThreadSanitizer"
    # Criterion cannot start under TSan, so the ring test also builds alone.
    cc -std=gnu11 -O1 -g -fsanitize=thread -Wall -Wextra -Werror -D_GNU_SOURCE \
        -DRING_TEST_NO_CRITERION -Idataplane -o build/test_ring_tsan \
        tests/unit/test_ring.c dataplane/ring.c -lpthread
    TSAN_OPTIONS=halt_on_error=1 build/test_ring_tsan
    log "cross-shard stress on a ThreadSanitizer build (4 workers)"
    [ -f build-tsan/build.ninja ] || CC=clang meson setup build-tsan -Db_sanitize=thread \
        -Db_lundef=false -Dtests=false >/dev/null
    ninja -C build-tsan dataplane/sluiced >/dev/null
    SLUICED="$PWD/build-tsan/dataplane/sluiced" SLUICED_ARGS="--dataplane-cores 0,1,0,1" \
        TSAN_OPTIONS=halt_on_error=1 /usr/bin/python3 tests/stress/transfer_stress.py --seconds 10 --timeout 15
    log "building with AddressSanitizer and UndefinedBehaviorSanitizer"
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false
    SLUICE_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_suite build-asan asan
    log "all tests passed"
}

case "${1:-}" in
start) shift; cmd_start "$@" ;;
test) shift; cmd_test "$@" ;;
*) echo "usage: $0 start [sluiced options] | test" >&2; exit 2 ;;
esac

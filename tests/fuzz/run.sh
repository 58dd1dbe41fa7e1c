#!/bin/sh
# Build one libFuzzer target with clang, ASan and UBSan, and run it for a
# bounded time on a copy of its seed corpus (the repository is never
# written to).
#
#   tests/fuzz/run.sh [target] [seconds]     target: resp (default), rdb, aof
#   tests/fuzz/run.sh [seconds]              the RESP target (as setup.sh calls it)
#
# Targets:
#   resp  tests/fuzz/fuzz_resp.c  the RESP request parser        seeds corpus/
#   rdb   tests/fuzz/fuzz_rdb.c   the RDB loader (store/rdb.c)   seeds corpus_rdb/:
#         dump.rdb files of redis-server 7.0.15 (small, and with a skiplist
#         zset and a hashtable set, with and without LZF) and the hand-built
#         version-9 file of legacy encodings from test_persistence.py
#   aof   tests/fuzz/fuzz_aof.c   the AOF manifest and command-stream parsers
#         (store/aof.c)                                          seeds corpus_aof/:
#         manifests and AOF files of redis-server 7.0.15 (annotated, MULTI,
#         RDB base with a command tail, cut short)
#
# Exits 0 when the run ends without a finding, 1 on a crash, leak, sanitizer
# report or timeout (the reproducer and log stay in the printed directory),
# 2 on bad usage or a failed build. CC overrides the compiler (clang).
set -u

usage() {
    echo "usage: $0 [resp|rdb|aof] [seconds]" >&2
    exit 2
}

target=resp
case ${1:-} in
resp | rdb | aof)
    target=$1
    shift
    ;;
esac
secs=${1:-30}
case $secs in
'' | *[!0-9]*) usage ;;
esac
[ $# -le 1 ] || usage

root=$(cd "$(dirname "$0")/../.." && pwd)
case $target in
resp)
    srcs="$root/dataplane/resp.c"
    libs=""
    corpus=corpus
    max_len=8192
    ;;
rdb)
    srcs="$(ls "$root"/store/*.c) $root/dataplane/resp.c"
    libs="-ljemalloc -lm -lpthread"
    corpus=corpus_rdb
    max_len=40000
    ;;
aof)
    srcs="$(ls "$root"/store/*.c) $root/dataplane/resp.c"
    libs="-ljemalloc -lm -lpthread"
    corpus=corpus_aof
    max_len=16384
    ;;
esac

name=fuzz_$target
cc=${CC:-clang}
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX") || exit 2
bin=$work/$name
log=$work/fuzz.log

echo "$name: building in $work"
# shellcheck disable=SC2086 # srcs and libs are word lists
if ! "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -I"$root/dataplane" -I"$root/store" \
    "$root/tests/fuzz/$name.c" $srcs $libs -o "$bin"; then
    echo "$name: FAIL - build failed"
    exit 2
fi

cp -R "$root/tests/fuzz/$corpus" "$work/corpus"
mkdir "$work/artifacts"
seeds=$(ls "$work/corpus" | wc -l)

echo "$name: running for ${secs}s on $seeds seeds (log: $log)"
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1
rc=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
found=$(ls "$work/artifacts" | wc -l)
if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|check failed|runtime error|Test unit written' "$log" | head -n 20
    echo "$name: FAIL - exit $rc, $found reproducer(s) in $work/artifacts, log $log"
    exit 1
fi
echo "$name: PASS - ${runs:-?} runs in ${secs}s, no crashes (corpus grew to $(ls "$work/corpus" | wc -l) inputs)"
rm -rf "$work"
exit 0

#!/bin/sh
# Build the RDB loader fuzz target (tests/fuzz/fuzz_rdb.c) with clang, libFuzzer,
# ASan and UBSan, and run it for a bounded time on a copy of the seed corpus
# (the repository is never written to).
#
#   tests/fuzz/run_rdb.sh [seconds]    default 30
#
# Seeds (corpus_rdb/): dump.rdb files of redis-server 7.0.15 (small, and
# with a skiplist zset and a hashtable set, with and without LZF) and the
# hand-built version-9 file of legacy encodings from
# tests/integration/test_persistence.py.
#
# Exits 0 when the run ends without a finding, 1 on a crash, leak, sanitizer
# report or timeout (the reproducer and log stay in the printed directory),
# 2 on bad usage or a failed build. CC overrides the compiler (clang).
set -u

secs=${1:-30}
case $secs in
'' | *[!0-9]*)
    echo "usage: $0 [seconds]" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CC:-clang}
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX") || exit 2
bin=$work/fuzz_rdb
log=$work/fuzz.log

echo "fuzz_rdb: building in $work"
if ! "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -I"$root/dataplane" \
    -I"$root/store" "$root/tests/fuzz/fuzz_rdb.c" "$root"/store/*.c "$root/dataplane/resp.c" \
    -ljemalloc -lm -lpthread -o "$bin"; then
    echo "fuzz_rdb: FAIL - build failed"
    exit 2
fi

cp -R "$root/tests/fuzz/corpus_rdb" "$work/corpus"
mkdir "$work/artifacts"
seeds=$(ls "$work/corpus" | wc -l)

echo "fuzz_rdb: running for ${secs}s on $seeds seeds (log: $log)"
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=40000 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1
rc=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
found=$(ls "$work/artifacts" | wc -l)
if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|check failed|runtime error|Test unit written' "$log" | head -n 20
    echo "fuzz_rdb: FAIL - exit $rc, $found reproducer(s) in $work/artifacts, log $log"
    exit 1
fi
echo "fuzz_rdb: PASS - ${runs:-?} runs in ${secs}s, no crashes (corpus grew to $(ls "$work/corpus" | wc -l) inputs)"
rm -rf "$work"
exit 0

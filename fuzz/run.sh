#!/bin/sh
# Run one target for a while: ./run.sh TARGET [SECONDS [MORE LIBFUZZER FLAGS]].
# See README.md.
set -e
cd "$(dirname "$0")"
t="$1"; secs="${2:-300}"
shift; [ $# -gt 0 ] && shift
mkdir -p "corpus/$t" "artifacts/$t"
exec cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
  -jobs=1 -workers=1 -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 "$@"

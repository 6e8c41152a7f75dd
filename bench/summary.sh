#!/usr/bin/env bash
# make bench's last step: one table of the whole-process figures, from the
# summary rows bench/apply.sh, bench/render.sh, bench/controller.sh and
# bench/fleet.sh left beside their own tables (tmp/bench-apply/,
# tmp/bench-render/, tmp/bench-controller/, tmp/bench-fleet/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
echo
echo "## Summary ($("$root/bin/plinth" version | head -n 1))"
echo
echo "| Work | plinth | other tool | ratio (other / plinth: > 1, plinth takes less) |"
echo "| --- | --- | --- | --- |"
for f in tmp/bench-apply/summary.tsv tmp/bench-render/summary.tsv tmp/bench-controller/summary.tsv tmp/bench-fleet/summary.tsv; do
	[ -f "$root/$f" ] || { echo "missing $f: its script has not run" >&2; exit 1; }
	awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$root/$f"
done
echo
echo "Medians of the runs; per-script tables: tmp/bench-apply/table.md, tmp/bench-render/table.md, tmp/bench-controller/table.md, tmp/bench-fleet/table.md."

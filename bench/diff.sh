#!/usr/bin/env bash
# plinth diff of prod between two git revisions (a tenant quota changed)
# against one cold render of prod, same inputs, same run: the diff renders
# both revisions, the head reusing the base's unchanged components from the
# render cache. Median of RUNS runs, each with an empty cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
fixtures=${FIXTURES:-$root/../shared/fixtures}
runs=${RUNS:-5}
work=$root/tmp/bench-diff
rm -rf "$work" && mkdir -p "$work"
"$root/bench/fixture-mirror.sh" "$fixtures" "$work/git-mirror"
"$bin/plinth" vendor prod --root "$root" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" \
	--charts-mirror "$fixtures/charts" --git-mirror "$work/git-mirror" 2>/dev/null

# A repository with prod at two revisions.
repo=$work/repo
mkdir -p "$repo" && cp -R "$root/environments" "$repo/"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.invalid commit -qm base
git -C "$repo" tag base
sed -i 's/cpu: "64", memory: "256Gi", gpu: 2/cpu: "96", memory: "256Gi", gpu: 2/' "$repo/environments/prod/tenants.cue"
git -C "$repo" -c user.name=bench -c user.email=bench@example.invalid commit -qam head
git -C "$repo" tag head

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1 || [ $? -eq 1 ]; echo $(( ($(date +%s%N) - s) / 1000000 )); }
render_ms=$(for _ in $(seq "$runs"); do
	time_ms "$bin/plinth" render prod --root "$repo" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" --out "$work/deploy" --no-cache
done | median)
diff_ms=$(for _ in $(seq "$runs"); do
	rm -rf "$work/cache"
	PLINTH_CACHE_DIR=$work/cache time_ms "$bin/plinth" diff prod --root "$repo" --base base --head head \
		--vendor-dir "$work/vendor" --lock "$work/plinth.lock" -o markdown
done | median)
echo "| one cold render of prod | ${render_ms} ms |"
echo "| plinth diff prod base..head, empty cache | ${diff_ms} ms |"
awk "BEGIN {printf \"ratio diff / cold render: %.2f\\n\", $diff_ms / $render_ms}"

#!/usr/bin/env bash
# plinth render against the tools a user would run instead, on the same
# inputs in the same run: helm template (kube-prometheus-stack 88.5.3) and
# kustomize build (the Kubeflow 26.03 example); then prod cold and warm.
#
# Whole processes: a copy of bin/plinth (a binary straight from the linker
# shows ~28 MB more file-backed RSS than the same bytes copied, see
# BENCHMARKS.md). RUNS runs of each (5 by default), alternating within each
# pair (plinth first in odd runs, the other tool first in even ones; prod
# cold and warm likewise), wall time and peak RSS from /usr/bin/time.
# Prints a Markdown table of medians (min–max) and ratios; the runs stay
# in tmp/bench-render/runs.tsv, the table in tmp/bench-render/table.md,
# the rows for make bench's summary in tmp/bench-render/summary.tsv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
fixtures=${FIXTURES:-$root/../shared/fixtures}
runs=${RUNS:-5}
work=$root/tmp/bench-render
mkdir -p "$work"
rm -f "$work/runs.tsv" "$work/summary.tsv"
cp "$bin/plinth" "$work/plinth"
plinth=$work/plinth
export PLINTH_CACHE_DIR=$work/cache

# Sources for the bench environments and the examples, from the fixtures.
"$root/bench/fixture-mirror.sh" "$fixtures" "$work/git-mirror"
"$plinth" vendor --root "$root/bench" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" \
	--charts-mirror "$fixtures/charts" --git-mirror "$work/git-mirror" 2>/dev/null
"$plinth" vendor prod --root "$root" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" \
	--charts-mirror "$fixtures/charts" --git-mirror "$work/git-mirror" 2>/dev/null

# measure KEY CMD...: one run; appends "key seconds rss-KiB" to runs.tsv.
measure() {
	local key=$1; shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
	local t m
	read -r t m < "$work/time"
	printf '%s\t%s\t%s\n' "$key" "$t" "$m" >> "$work/runs.tsv"
}
# pair I A-KEY A-CMD -- B-KEY B-CMD: run I of both, A first when I is odd.
pair() {
	local i=$1 a=() b=() x
	shift
	for x in "$@"; do shift; [ "$x" = -- ] && break; a+=("$x"); done
	b=("$@")
	if ((i % 2)); then measure "${a[@]}"; measure "${b[@]}"; else measure "${b[@]}"; measure "${a[@]}"; fi
}

kps_values=$work/kps-values.yaml
printf 'prometheus:\n  prometheusSpec:\n    retention: 15d\ngrafana:\n  admin:\n    existingSecret: grafana-admin\n' > "$kps_values"
render=("$plinth" render --root "$root/bench" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" --out "$work/deploy")
prod=("$plinth" render prod --root "$root" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" --out "$work/deploy")

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
"${prod[@]}" 2>/dev/null # fills the cache for the warm runs
for i in $(seq "$runs"); do
	pair "$i" kps-plinth "${render[@]}" kps --no-cache -- \
		kps-helm env HELM_CACHE_HOME="$work/helm" "$bin/helm" template kube-prometheus-stack \
		"$fixtures/charts/kube-prometheus-stack-88.5.3.tgz" --namespace monitoring --kube-version v1.34.4 --include-crds --skip-tests -f "$kps_values"
	pair "$i" kubeflow-plinth "${render[@]}" kubeflow --no-cache -- \
		kubeflow-kustomize "$bin/kustomize" build "$fixtures/kubeflow-manifests/example"
	pair "$i" prod-cold "${prod[@]}" --no-cache -- prod-warm "${prod[@]}"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# row KEY-A KEY-B WHAT: medians (min–max) of A (plinth) and B (the other
# tool, or none), ratio B / A, median peak RSS of each.
row() {
	awk -F'\t' -v a="$1" -v b="$2" -v what="$3" '
		function median(x, n,   i, j, t) {
			for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
			return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
		}
		$1 == a { na++; ta[na] = $2; ma[na] = $3 }
		$1 == b { nb++; tb[nb] = $2; mb[nb] = $3 }
		END {
			A = median(ta, na); MA = median(ma, na) / 1024
			if (nb) {
				B = median(tb, nb); MB = median(mb, nb) / 1024
				printf "| %s | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.2f | %d | %d |\n", what, A, ta[1], ta[na], B, tb[1], tb[nb], B / A, MA, MB
				printf "%s\t%.2f s\t%.2f s\t%.2f\n", what, A, B, B / A > "/dev/stderr"
			} else {
				printf "| %s | %.2f (%.2f–%.2f) | – | – | %d | – |\n", what, A, ta[1], ta[na], MA
				printf "%s (peak RSS)\t%.2f s, %d MiB\t–\t–\n", what, A, MA > "/dev/stderr"
			}
		}' "$work/runs.tsv" 2>> "$work/summary.tsv"
}
{
	echo "| $runs runs each | plinth s, median (min–max) | other tool s, median (min–max) | other / plinth | plinth peak RSS MiB | other peak RSS MiB |"
	echo "| --- | --- | --- | --- | --- | --- |"
	row kps-plinth kps-helm "render kube-prometheus-stack cold (vs helm template)"
	row kubeflow-plinth kubeflow-kustomize "render the Kubeflow example cold (vs kustomize build)"
	row prod-cold none "render prod cold"
	row prod-warm none "render prod warm (render cache)"
	echo
	echo "Ratio > 1: plinth takes less time. Peak RSS: median of the runs' peaks. plinth: a copy of bin/plinth,"
	echo "$("$plinth" version | head -n 1); helm $("$bin/helm" version --short), kustomize $("$bin/kustomize" version)."
	echo "Load average (1, 5, 15 min): $load_start at start, $load_end at end. Runs: tmp/bench-render/runs.tsv."
} > "$work/table.md"
# The summary's prod row is the cold one only.
grep -v '^render prod warm' "$work/summary.tsv" > "$work/summary.tmp" && mv "$work/summary.tmp" "$work/summary.tsv"
cat "$work/table.md"

#!/usr/bin/env bash
# plinth render against the tools a user would run instead, on the same
# inputs in the same run: helm template (kube-prometheus-stack 88.5.3) and
# kustomize build (the Kubeflow 26.03 example); then prod cold and warm.
# Median of RUNS runs, peak RSS (max over runs). Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
fixtures=${FIXTURES:-$root/../shared/fixtures}
runs=${RUNS:-5}
work=$root/tmp/bench
mkdir -p "$work"
export PLINTH_CACHE_DIR=$work/cache

# Sources for the bench environments and the examples, from the fixtures.
"$root/bench/fixture-mirror.sh" "$fixtures" "$work/git-mirror"
"$bin/plinth" vendor --root "$root/bench" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" \
	--charts-mirror "$fixtures/charts" --git-mirror "$work/git-mirror" 2>/dev/null
"$bin/plinth" vendor prod --root "$root" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" \
	--charts-mirror "$fixtures/charts" --git-mirror "$work/git-mirror" 2>/dev/null

# measure NAME CMD...: median wall seconds and peak RSS (MiB) of RUNS runs.
measure() {
	local name=$1; shift
	local times=() rss=0
	for _ in $(seq "$runs"); do
		/usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
		read -r t m < "$work/time"
		times+=("$t"); (( m > rss )) && rss=$m
	done
	local median
	median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '%s\t%s\t%d\n' "$name" "$median" $((rss / 1024))
}

kps_values=$work/kps-values.yaml
printf 'prometheus:\n  prometheusSpec:\n    retention: 15d\ngrafana:\n  admin:\n    existingSecret: grafana-admin\n' > "$kps_values"
render=("$bin/plinth" render --root "$root/bench" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" --out "$work/deploy")

{
	measure "helm template kube-prometheus-stack" env HELM_CACHE_HOME="$work/helm" "$bin/helm" template kube-prometheus-stack \
		"$fixtures/charts/kube-prometheus-stack-88.5.3.tgz" --namespace monitoring --kube-version v1.34.4 --include-crds --skip-tests -f "$kps_values"
	measure "plinth render kps (cold, --no-cache)" "${render[@]}" kps --no-cache
	measure "kustomize build kubeflow example" "$bin/kustomize" build "$fixtures/kubeflow-manifests/example"
	measure "plinth render kubeflow (cold, --no-cache)" "${render[@]}" kubeflow --no-cache
	measure "plinth render prod (cold, --no-cache)" "$bin/plinth" render prod --root "$root" --vendor-dir "$work/vendor" \
		--lock "$work/plinth.lock" --out "$work/deploy" --no-cache
	"$bin/plinth" render prod --root "$root" --vendor-dir "$work/vendor" --lock "$work/plinth.lock" --out "$work/deploy" 2>/dev/null
	measure "plinth render prod (warm, cache)" "$bin/plinth" render prod --root "$root" --vendor-dir "$work/vendor" \
		--lock "$work/plinth.lock" --out "$work/deploy"
} > "$work/results.tsv"

awk -F'\t' 'BEGIN {print "| What | median s | peak RSS MiB |"; print "| --- | --- | --- |"}
	{printf "| %s | %s | %s |\n", $1, $2, $3; t[NR]=$2}
	END {
		printf "\nRatios (same run): plinth/helm template = %.2f, plinth/kustomize build = %.2f, prod warm/cold = %.3f\n", t[2]/t[1], t[4]/t[3], t[6]/t[5]
	}' "$work/results.tsv"

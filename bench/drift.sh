#!/usr/bin/env bash
# plinth's drift check against `kubectl diff --server-side` (v1.34.4),
# the same 1,000 unchanged objects (applied with lib/apply beforehand),
# the same real kube-apiserver (lib/kubetest) in the same run:
# BenchmarkDrift of lib/drift, BENCHTIME operations each. Prints a
# Markdown table; the raw `go test` output stays in tmp/bench-drift/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$root/bin/k8s-v1.34.4}
export KUBECTL=${KUBECTL:-$KUBEBUILDER_ASSETS/kubectl}
benchtime=${BENCHTIME:-3x}
work=$root/tmp/bench-drift
mkdir -p "$work"

for f in "$KUBEBUILDER_ASSETS/kube-apiserver" "$KUBEBUILDER_ASSETS/etcd" "$KUBECTL"; do
	[ -x "$f" ] || { echo "missing $f: run \`make testbin bin/k8s-v1.34.4/kubectl\`" >&2; exit 1; }
done
command -v diff > /dev/null || { echo "kubectl diff needs a diff program on PATH" >&2; exit 1; }

cmd=("${GO:-go}" test ./lib/drift -run '^$' -bench '^BenchmarkDrift$' -benchtime "$benchtime" -count 1 -timeout 60m)
shown="KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS#"$root"/} KUBECTL=${KUBECTL#"$root"/} go test ./lib/drift -run '^\$' -bench '^BenchmarkDrift\$' -benchtime $benchtime -count 1"
(cd "$root" && "${cmd[@]}") > "$work/bench.txt" 2>&1 || { cat "$work/bench.txt" >&2; exit 1; }

# BenchmarkDrift/<tool>-<procs>  N  <ns> ns/op  <x> <unit> ...
awk -v cmd="$shown" '
	$1 ~ /^BenchmarkDrift\// {
		split($1, p, "/"); k = p[2]; sub(/-[0-9]+$/, "", k)
		for (i = 3; i < NF; i += 2) v[k, $(i + 1)] = $i
	}
	END {
		if (v["plinth", "ns/op"] == "" || v["kubectl", "ns/op"] == "") { print "no results" > "/dev/stderr"; exit 1 }
		pl = v["plinth", "ns/op"] / 1e9; ku = v["kubectl", "ns/op"] / 1e9
		print "| 1,000 objects | plinth s | kubectl s | kubectl / plinth (goal ≥ 3) | plinth requests/object (goal ≤ 1) | kubectl requests/object |"
		print "| --- | --- | --- | --- | --- | --- |"
		printf "| drift check, nothing changed | %.2f | %.2f | %.2f | %.3f | %.3f |\n", pl, ku, ku / pl,
			v["plinth", "requests/object"], v["kubectl", "requests/object"]
		printf "\nDiscovery requests per operation, not counted above: plinth %g, kubectl %g (empty cache each run).\n",
			v["plinth", "discovery-requests/op"], v["kubectl", "discovery-requests/op"]
		if (v["kubectl", "throttled-s/op"] != "")
			printf "kubectl waited %.2f s per operation for client-go'"'"'s rate limiter.\n", v["kubectl", "throttled-s/op"]
		printf "Seconds are the mean of the operations; ratio > 1: plinth faster. Command: `%s`\n", cmd
	}' "$work/bench.txt"

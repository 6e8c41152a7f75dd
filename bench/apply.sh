#!/usr/bin/env bash
# plinth's apply library against `kubectl apply --server-side` (v1.34.4),
# the same 1,000 objects, the same real kube-apiserver (lib/kubetest) in
# the same run: BenchmarkApply of lib/apply, BENCHTIME operations each
# (first apply into a new namespace, then no-op re-applies). Prints a
# Markdown table; the raw `go test` output stays in tmp/bench-apply/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$root/bin/k8s-v1.34.4}
export KUBECTL=${KUBECTL:-$KUBEBUILDER_ASSETS/kubectl}
benchtime=${BENCHTIME:-3x}
work=$root/tmp/bench-apply
mkdir -p "$work"

for f in "$KUBEBUILDER_ASSETS/kube-apiserver" "$KUBEBUILDER_ASSETS/etcd" "$KUBECTL"; do
	[ -x "$f" ] || { echo "missing $f: run \`make testbin bin/k8s-v1.34.4/kubectl\`" >&2; exit 1; }
done

cmd=("${GO:-go}" test ./lib/apply -run '^$' -bench '^BenchmarkApply$' -benchtime "$benchtime" -count 1 -timeout 60m)
shown="KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS#"$root"/} KUBECTL=${KUBECTL#"$root"/} go test ./lib/apply -run '^\$' -bench '^BenchmarkApply\$' -benchtime $benchtime -count 1"
(cd "$root" && "${cmd[@]}") > "$work/bench.txt" 2>&1 || { cat "$work/bench.txt" >&2; exit 1; }

# BenchmarkApply/<tool>/<case>-<procs>  N  <ns> ns/op  <x> <unit> ...
awk -v cmd="$shown" '
	$1 ~ /^BenchmarkApply\// {
		split($1, p, "/"); sub(/-[0-9]+$/, "", p[3]); k = p[2] "/" p[3]
		for (i = 3; i < NF; i += 2) v[k, $(i + 1)] = $i
	}
	function row(what, c,   pl, ku) {
		pl = v["plinth/" c, "ns/op"] / 1e9; ku = v["kubectl/" c, "ns/op"] / 1e9
		printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", what, pl, ku, ku / pl,
			v["plinth/" c, "requests/object"], v["kubectl/" c, "requests/object"]
	}
	END {
		if (v["plinth/first", "ns/op"] == "" || v["kubectl/first", "ns/op"] == "") { print "no results" > "/dev/stderr"; exit 1 }
		print "| 1,000 objects | plinth s | kubectl s | kubectl / plinth | plinth requests/object | kubectl requests/object |"
		print "| --- | --- | --- | --- | --- | --- |"
		row("first apply (new namespace)", "first")
		row("no-op re-apply", "noop")
		printf "\nDiscovery requests per operation, not counted above: plinth %g, kubectl %g (empty cache each run).\n",
			v["plinth/first", "discovery-requests/op"], v["kubectl/first", "discovery-requests/op"]
		printf "Seconds are the mean of the operations; ratio > 1: plinth faster. Command: `%s`\n", cmd
	}' "$work/bench.txt"

#!/usr/bin/env bash
# The controller on 3,000 objects: BenchmarkController of reconciler (a
# controller-runtime manager with the Reconciler in the test process, the
# real kube-apiserver of lib/kubetest, a real git server behind a proxy
# that counts fetches). One scenario: the first apply, reconciles with
# the remote head unchanged (fetches must be 0), 5 timed pushes, more
# reconciles up to 100; memory after every 10th reconcile. Prints
# Markdown tables; the raw `go test` output stays in tmp/bench-controller/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$root/bin/k8s-v1.34.4}
work=$root/tmp/bench-controller
mkdir -p "$work"

for f in "$KUBEBUILDER_ASSETS/kube-apiserver" "$KUBEBUILDER_ASSETS/etcd"; do
	[ -x "$f" ] || { echo "missing $f: run \`make testbin\`" >&2; exit 1; }
done
command -v git > /dev/null || { echo "the git test server needs git on PATH" >&2; exit 1; }

cmd=("${GO:-go}" test ./reconciler -run '^$' -bench '^BenchmarkController$' -benchtime 1x -count 1 -timeout 60m)
shown="KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS#"$root"/} go test ./reconciler -run '^\$' -bench '^BenchmarkController\$' -benchtime 1x -count 1"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
(cd "$root" && "${cmd[@]}") > "$work/bench.txt" 2>&1 || { grep -v '^request: ' "$work/bench.txt" >&2; exit 1; }
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# BenchmarkController-<procs>  1  <x> <unit> ...
# and the benchmark's log: "push 1: applied after ..." and
# "memory (after reconcile, ...): 10 56 22.1 156.2 60; 20 69 22.2 147.6 60; ..."
awk -v cmd="$shown" -v load_start="$load_start" -v load_end="$load_end" '
	$1 ~ /^BenchmarkController(-[0-9]+)?$/ { for (i = 3; i < NF; i += 2) v[$(i + 1)] = $i }
	/memory \(after reconcile/ {
		line = $0; sub(/.*goroutines\): /, "", line)
		ns = split(line, rows, /; /)
		for (i = 1; i <= ns; i++) {
			split(rows[i], f, / /) # reconcile, s since start, heap MiB, RSS MiB, goroutines
			samples[i] = sprintf("| %d | %d | %.1f | %.1f | %d |", f[1], f[2], f[3], f[4], f[5])
		}
	}
	/first commit applied/ { first = $0; sub(/.* in /, "", first) }
	/push [0-9]+: applied after/ { pushes[++np] = $0; sub(/.*push /, "push ", pushes[np]) }
	END {
		if (v["push-to-applied-s"] == "") { print "no results" > "/dev/stderr"; exit 1 }
		print "| 3,000 ConfigMaps + 2 Namespaces, Interval 1 s, DriftInterval 5 s | figure |"
		print "| --- | --- |"
		printf "| push to applied (`status.lastAppliedRevision` names the commit), median of 5 pushes | %.2f s |\n", v["push-to-applied-s"]
		printf "| push to the changed ConfigMap written to the API server, median | %.2f s |\n", v["push-to-written-s"]
		printf "| – waiting for the next poll (median) | %.2f s |\n", v["wait-s"]
		printf "| – ls-remote, status Reconciling, fetch (median) | %.2f s |\n", v["git-s"]
		printf "| – render, in the sandboxed child (median) | %.2f s |\n", v["render-s"]
		printf "| – apply: plan (a dry run per object) and writes (median) | %.2f s, %d requests |\n", v["apply-s"], v["apply-requests"]
		printf "| – drift check after the apply, before the status is written (median) | %.2f s, %d requests |\n", v["drift-s"], v["drift-requests"]
		printf "| reconciles that rendered and applied, per push (1: each revision applied once) | %.1f |\n", v["renders-per-push"]
		printf "| first apply (3,002 objects created), for scale | %s |\n", first
		printf "| drift check in a reconcile without a new revision (median of %d) | %.2f s |\n", v["drift-checks"], v["drift-check-s"]
		printf "| heap in use after reconcile 10 → 100 | %.1f → %.1f MiB (%+.1f) |\n", v["heap-MiB-at-10"], v["heap-MiB-at-100"], v["heap-MiB-at-100"] - v["heap-MiB-at-10"]
		printf "| RSS of the test process after reconcile 10 → 100 | %.1f → %.1f MiB (%+.1f) |\n", v["rss-MiB-at-10"], v["rss-MiB-at-100"], v["rss-MiB-at-100"] - v["rss-MiB-at-10"]
		printf "| goroutines after reconcile 10 → 100 | %d → %d |\n", v["goroutines-at-10"], v["goroutines-at-100"]
		printf "| fetches at the git server while the head was unchanged (%d reconciles, %.0f s) | %d |\n", v["reconciles-while-unchanged"], v["unchanged-s"], v["fetches-while-unchanged"]
		printf "| fetches per push | %g |\n", v["fetches-per-push"]
		print ""
		print "| after reconcile | s since start | heap in use MiB | RSS MiB | goroutines |"
		print "| --- | --- | --- | --- | --- |"
		for (i = 1; i <= ns; i++) print samples[i]
		print ""
		for (i = 1; i <= np; i++) print "- " pushes[i]
		printf "\nBreakdown figures are medians of each part on its own (they need not add up to the median total).\n"
		printf "Whole run %.0f s; load average (1, 5, 15 min) %s at start, %s at end. Command: `%s`\n", v["total-s"], load_start, load_end, cmd
	}' "$work/bench.txt"

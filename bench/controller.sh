#!/usr/bin/env bash
# The controller as deployed, as its own process: `plinth controller
# --kubeconfig K --leader-elect=false` (a copy of bin/plinth, its own
# client configuration: no QPS flags), out of cluster against a local API
# server (bin/plinth-demo-cluster serve), following a git repository
# served over smart HTTP on 127.0.0.1 (bin/plinth-demo-cluster git: the
# controller fetches with go-git as from any git server).
#
# One Environment (Interval 1 s, DriftInterval DRIFT_INTERVAL, 5 s by
# default as in the old in-process benchmark) whose environment renders,
# from CUE, 3,000 ConfigMaps in 2 Namespaces. Measured:
#   - first apply: controller start to status.lastAppliedRevision naming
#     the first commit, and from the status naming it as attempted (the
#     reconcile that started on it) to applied;
#   - PUSHES pushes (5 by default), each changing ConfigMap cm-0: from the
#     end of `git push` to lastAppliedRevision naming the commit, and from
#     lastAttemptedRevision naming it (the reconcile that saw the push
#     writes it before fetching) to applied;
#   - the controller's RSS (/proc/<pid>/status VmRSS) and reconcile count
#     (controller_runtime_reconcile_total on --metrics-bind-address) every
#     0.5 s, up to reconcile 100.
# The status is followed with `kubectl get --watch` (every change, stamped
# on arrival), not polled. Prints Markdown tables; everything stays in
# tmp/bench-controller/ (table.md, summary.tsv for make bench, logs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$root/bin/k8s-v1.34.4}
kubectl=${KUBECTL:-$KUBEBUILDER_ASSETS/kubectl}
pushes=${PUSHES:-5}
drift_interval=${DRIFT_INTERVAL:-5s}
reconciles=${RECONCILES:-100}
objects=3000
work=$root/tmp/bench-controller

for f in "$KUBEBUILDER_ASSETS/kube-apiserver" "$KUBEBUILDER_ASSETS/etcd" "$kubectl" "$root/bin/plinth"; do
	[ -x "$f" ] || { echo "missing $f: run \`make build testbin bin/k8s-v1.34.4/kubectl\`" >&2; exit 1; }
done
command -v git > /dev/null || { echo "the git server (gitkit runs git upload-pack) and the pushes need git on PATH" >&2; exit 1; }
command -v curl > /dev/null || { echo "reading the controller's metrics needs curl on PATH" >&2; exit 1; }

rm -rf "$work" && mkdir -p "$work/log"
# A copy: see bench/apply.sh.
cp "$root/bin/plinth" "$work/plinth"
source "$root/bench/cluster.sh"
source "$root/bench/gitserver.sh"

pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	stop_cluster
}
trap cleanup EXIT
now() { echo "${EPOCHREALTIME}"; }
# minus A B: A - B in seconds, two decimals.
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start_cluster
kc=("$kubectl" --kubeconfig "$kubeconfig")

start_git_server

# The environments repository: 3,000 ConfigMaps; push N sets cm-0's data.push.
repo=$work/repo
git init -q -b main "$repo"
mkdir -p "$repo/cue.mod" "$repo/environments/bench"
printf 'module: "bench.example/envs"\nlanguage: version: "v0.17.0"\n' > "$repo/cue.mod/module.cue"
env_cue() {
	cat <<EOF
// Benchmark: 3,000 ConfigMaps in 2 Namespaces (bench/controller.sh).
package plinth

import "list"

cluster: {version: "1.34.4", runtime: "containerd", nodes: {controlPlane: 1, workers: 1}}
objects: {
	for ns in ["ctl-bench-a", "ctl-bench-b"] {(ns): {apiVersion: "v1", kind: "Namespace", metadata: name: ns}}
	for i in list.Range(0, $objects, 1) {
		"cm-\(i)": {
			apiVersion: "v1"
			kind:       "ConfigMap"
			metadata: {name: "cm-\(i)", namespace: ["ctl-bench-a", "ctl-bench-b"][mod(i, 2)]}
			data: value: "object \(i)"
			if i == 0 {data: push: "$1"}
		}
	}
}
EOF
}
# commit N: writes push N, commits, pushes; prints the commit.
commit() {
	env_cue "$1" > "$repo/environments/bench/env.cue"
	git -C "$repo" add -A
	git -C "$repo" -c user.name=bench -c user.email=bench@example.invalid commit -qm "push $1"
	git -C "$repo" push -q "$git_url/envs.git" main 2> "$work/log/push-$1.log"
	git -C "$repo" rev-parse HEAD
}
first=$(commit 0)

# The CRD, the namespace, the Environment (no credentials: the server
# asks for none).
"${kc[@]}" apply --server-side -f "$root/overlays/plinth-controller/crd/plinth.dev_environments.yaml" > /dev/null
"${kc[@]}" wait --for condition=established --timeout 60s crd/environments.plinth.dev > /dev/null
"${kc[@]}" create namespace plinth-system > /dev/null
"${kc[@]}" apply --server-side -f - > /dev/null <<EOF
apiVersion: plinth.dev/v1alpha1
kind: Environment
metadata: {name: bench, namespace: plinth-system}
spec:
  git: {url: "$git_url/envs.git", ref: {branch: main}}
  environment: bench
  interval: 1s
  driftInterval: $drift_interval
EOF

# Every change of the status, stamped on arrival: "time attempted applied"
# (a process substitution, so that $! is kubectl's and cleanup ends it).
"${kc[@]}" get -n plinth-system environments.plinth.dev bench --watch \
	-o jsonpath='{.status.lastAttemptedRevision} {.status.lastAppliedRevision}{"\n"}' 2> "$work/log/watch.err" \
	> >(while read -r attempted applied; do echo "$(now) ${attempted:--} ${applied:--}"; done > "$work/status.log") &
pids+=($!)

# The controller, on free-ish ports of 127.0.0.1.
port=$((20000 + RANDOM % 20000))
metrics_url=http://127.0.0.1:$port/metrics
settle
metrics "$work/before-first.prom"
t_start=$(now)
"$work/plinth" controller --kubeconfig "$kubeconfig" --leader-elect=false \
	--metrics-bind-address "127.0.0.1:$port" --health-probe-bind-address "127.0.0.1:$((port + 1))" \
	--report-bind-address "127.0.0.1:$((port + 2))" --work-dir "$work/controller" > "$work/log/controller.log" 2>&1 &
ctl=$!
pids+=("$ctl")

# Every 0.5 s: "time reconciles VmRSS-KiB" (reconciles: every result of
# controller-runtime's counter).
(
	while kill -0 "$ctl" 2>/dev/null; do
		n=$(curl -sf "$metrics_url" | awk '/^controller_runtime_reconcile_total\{/ {s += $2} END {print s + 0}') || n=0
		rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$ctl/status" 2>/dev/null) || rss=0
		echo "$(now) ${n:-0} ${rss:-0}"
		sleep 0.5
	done
) > "$work/samples.log" &
pids+=($!)

# wait_for FIELD SHA: until the status log shows SHA as attempted (2) or
# applied (3); prints the time it arrived. Fails after 600 s, or when the
# controller has exited.
wait_for() {
	local field=$1 sha=$2 t
	for _ in $(seq 6000); do
		t=$(awk -v f="$field" -v sha="$sha" '$f == sha {print $1; exit}' "$work/status.log")
		[ -n "$t" ] && { echo "$t"; return 0; }
		kill -0 "$ctl" 2>/dev/null || { echo "the controller exited:" >&2; tail -n 20 "$work/log/controller.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "revision $sha not $( ((field == 2)) && echo attempted || echo applied) after 600 s" >&2
	tail -n 20 "$work/log/controller.log" >&2
	exit 1
}
# reconciles_at_least N: waits until the controller has reconciled N times.
reconciles_at_least() {
	for _ in $(seq 6000); do
		awk -v n="$1" '$2 >= n {found = 1} END {exit !found}' "$work/samples.log" && return 0
		kill -0 "$ctl" 2>/dev/null || { echo "the controller exited:" >&2; tail -n 20 "$work/log/controller.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "fewer than $1 reconciles after 600 s" >&2
	exit 1
}

echo "bench/controller.sh: $objects ConfigMaps, $pushes pushes, up to reconcile $reconciles ($("$work/plinth" version | head -n 1))" >&2
t_first=$(wait_for 3 "$first")
metrics "$work/after-first.prom"
t_first_seen=$(wait_for 2 "$first")
first_requests=$(requests "$work/before-first.prom" "$work/after-first.prom")
echo "  first apply: $(minus "$t_first" "$t_start") s from the controller's start, $(minus "$t_first" "$t_first_seen") s from attempted; requests: $first_requests" >&2
reconciles_at_least 10

for k in $(seq "$pushes"); do
	sha=$(commit "$k")
	t_push=$(now)
	t_applied=$(wait_for 3 "$sha")
	t_seen=$(wait_for 2 "$sha")
	printf '%d\t%s\t%s\t%s\t%s\n' "$k" "$sha" "$t_push" "$t_seen" "$t_applied" >> "$work/pushes.tsv"
	echo "  push $k: applied $(minus "$t_applied" "$t_push") s after the push, $(minus "$t_applied" "$t_seen") s after the reconcile that saw it started" >&2
	sleep 2 # not right after the apply's drift check
done
reconciles_at_least "$reconciles"

# Outcomes: cm-0 holds the last push, Ready is True, no reconcile errors.
got=$("${kc[@]}" get -n ctl-bench-a configmap cm-0 -o jsonpath='{.data.push}')
[ "$got" = "$pushes" ] || { echo "ConfigMap cm-0 has push '$got', want $pushes" >&2; exit 1; }
ready=$("${kc[@]}" get -n plinth-system environments.plinth.dev bench -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
[ "$ready" = True ] || { echo "Environment bench: Ready is '$ready'" >&2; exit 1; }
n=$("${kc[@]}" get -n ctl-bench-a configmaps --no-headers | wc -l)
m=$("${kc[@]}" get -n ctl-bench-b configmaps --no-headers | wc -l)
# Each namespace also holds kube-root-ca.crt.
[ $((n + m - 2)) -eq "$objects" ] || { echo "$((n + m - 2)) ConfigMaps applied, want $objects" >&2; exit 1; }
errors=$(curl -sf "$metrics_url" | awk '/^plinth_reconcile_errors_total/ {s += $2} END {print s + 0}')
cleanup
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# The tables.
{
	echo "| 3,000 ConfigMaps + 2 Namespaces, Interval 1 s, DriftInterval $drift_interval | figure |"
	echo "| --- | --- |"
	awk -v start="$t_start" -v first="$t_first" -v seen="$t_first_seen" 'BEGIN {
		printf "| first apply: controller start → lastAppliedRevision names the first commit | %.2f s |\n", first - start
		printf "| first apply: lastAttemptedRevision → lastAppliedRevision | %.2f s |\n", first - seen }'
	echo "| first apply: requests to the API server, controller start → applied (apiserver_request_total) | ${first_requests%%$'\t'*} ($(echo "${first_requests#*$'\t'}")) |"
	awk -F'\t' -v n="$pushes" '
		function median(a, n,   i, j, t) {
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		{ pa[NR] = $5 - $3; sa[NR] = $5 - $4; ps[NR] = $4 - $3 }
		END {
			printf "| push → applied (end of git push → lastAppliedRevision names the commit), median of %d (min–max) | %.2f s", n, median(pa, n); printf " (%.2f–%.2f) |\n", pa[1], pa[n]
			printf "| – push → the reconcile that saw it started (lastAttemptedRevision), median (min–max) | %.2f s", median(ps, n); printf " (%.2f–%.2f) |\n", ps[1], ps[n]
			printf "| – that reconcile started → applied, median (min–max) | %.2f s", median(sa, n); printf " (%.2f–%.2f) |\n", sa[1], sa[n]
			# For make bench.
			printf "controller push-to-applied (median of %d pushes; no other tool)\t%.2f s\t–\t–\n", n, median(pa, n) > "/dev/stderr"
		}' "$work/pushes.tsv" 2> "$work/summary.tsv"
	awk -v last="$reconciles" '
		!r10 && $2 >= 10 { r10 = $3; n10 = $2 }
		!rl && $2 >= last { rl = $3; nl = $2 }
		$3 > peak { peak = $3 }
		END {
			printf "| controller RSS after reconcile %d → %d | %.1f → %.1f MiB (%+.1f) |\n", n10, nl, r10 / 1024, rl / 1024, (rl - r10) / 1024
			printf "| controller peak RSS seen (0.5 s samples) | %.1f MiB |\n", peak / 1024
		}' "$work/samples.log"
	echo "| reconcile errors (plinth_reconcile_errors_total) | $errors |"
	echo
	echo "| after reconcile | s since start | controller RSS MiB |"
	echo "| --- | --- | --- |"
	awk -v start="$t_start" '{ b = int($2 / 10) * 10 } b >= 10 && !(b in seen) { seen[b] = 1; printf "| %d | %.0f | %.1f |\n", $2, $1 - start, $3 / 1024 }' "$work/samples.log"
	echo
	echo "Times: the Environment's status as \`kubectl get --watch\` delivered it; pushes: the git CLI over HTTP to"
	echo "bin/plinth-demo-cluster git. Controller: a copy of bin/plinth, $("$work/plinth" version | head -n 1), default client"
	echo "settings. RSS: /proc/<pid>/status VmRSS (the controller's own process; its sandboxed render children are others)."
	echo "Load average (1, 5, 15 min): $load_start at start, $load_end at end. Logs: tmp/bench-controller/."
} > "$work/table.md"
cat "$work/table.md"

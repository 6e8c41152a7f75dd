#!/usr/bin/env bash
# Whole processes, as shipped: `plinth apply` and `plinth drift` (a copy of
# bin/plinth) against `kubectl apply --server-side` and `kubectl diff
# --server-side` (bin/k8s-v1.34.4/kubectl), on the same 1,001 objects, the
# same local API server (bin/plinth-demo-cluster serve: kube-apiserver,
# etcd, kube-controller-manager), in the same run.
#
# The objects: an environment repository under tmp/bench-apply/repo whose
# environments apply-1 .. apply-RUNS each declare, as CUE `objects:`, a
# Namespace bench-apply-<i> and 1,000 small objects in it, as
# lib/apply's old BenchmarkApply had them: 143 each of ServiceAccount,
# ConfigMap, Secret, headless Service, Role and RoleBinding, 142
# Deployments. kubectl's input is `plinth render` of the same environment:
# for its applies a copy renamed to its own fresh namespace
# (bench-kubectl-<i>, environment label kubectl-<i>, so that plinth's
# drift never sees them as its own); for the drift check, the very file
# of plinth's environment.
#
# Three phases, RUNS runs of each tool, alternating (plinth first in odd
# runs, kubectl first in even ones), each run after the server has
# settled (bench/cluster.sh):
#   first apply   plinth apply apply-<i>  |  kubectl apply -f kubectl-<i>.yaml
#   no-op         the same again, unchanged
#   drift         plinth drift apply-<i>  |  kubectl diff --field-manager=plinth -f apply-<i>'s render
# Each run: wall time and peak RSS (/usr/bin/time), requests from the
# server's metrics, and its outcome checked (exit 0; plinth drift: no
# drift; kubectl diff: no difference; a first apply: 1,000 objects in the
# namespace). Prints a Markdown table; the runs stay in
# tmp/bench-apply/runs.tsv, the table in tmp/bench-apply/table.md, the
# summary rows for make bench in tmp/bench-apply/summary.tsv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$root/bin/k8s-v1.34.4}
kubectl=${KUBECTL:-$KUBEBUILDER_ASSETS/kubectl}
runs=${RUNS:-5}
work=$root/tmp/bench-apply
objects=1001 # 1,000 + the Namespace: both tools apply all of them

for f in "$KUBEBUILDER_ASSETS/kube-apiserver" "$KUBEBUILDER_ASSETS/etcd" "$kubectl" "$root/bin/plinth"; do
	[ -x "$f" ] || { echo "missing $f: run \`make build testbin bin/k8s-v1.34.4/kubectl\`" >&2; exit 1; }
done
command -v diff > /dev/null || { echo "kubectl diff needs a diff program on PATH" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "peak RSS needs GNU time at /usr/bin/time" >&2; exit 1; }

rm -rf "$work" && mkdir -p "$work/repo" "$work/kubectl" "$work/log"
# A copy: a binary straight from the linker shows ~28 MB more file-backed
# RSS than the same bytes copied (BENCHMARKS.md, issue 14).
cp "$root/bin/plinth" "$work/plinth"
plinth=$work/plinth
source "$root/bench/cluster.sh"
trap stop_cluster EXIT

# env_cue NAMESPACE: one environment's env.cue.
env_cue() {
	cat <<EOF
// Benchmark: 1,000 small objects and their Namespace (bench/apply.sh).
package plinth

import (
	"encoding/base64"
	"list"
)

cluster: version: "1.34.4"

_ns: "$1"
objects: {
	(_ns): {apiVersion: "v1", kind: "Namespace", metadata: name: _ns}
	for i in list.Range(0, 143, 1) let n = "app-\(i)" let sel = {"app.kubernetes.io/name": n} {
		"\(n)-sa": {apiVersion: "v1", kind: "ServiceAccount", metadata: {name: n, namespace: _ns, labels: sel}}
		"\(n)-cm": {apiVersion: "v1", kind: "ConfigMap", metadata: {name: n, namespace: _ns, labels: sel}
			data: {LOG_LEVEL: "info", LISTEN_ADDR: ":8080", "app.yaml": "server:\n  port: 8080\n  timeout: 30s\nfeatures:\n  - search\n  - export\n"}
		}
		"\(n)-secret": {apiVersion: "v1", kind: "Secret", metadata: {name: n, namespace: _ns, labels: sel}, type: "Opaque"
			data: {username: base64.Encode(null, n), password: base64.Encode(null, "s3cr3t-\(n)")}
		}
		// Headless: envtest's service CIDR has too few cluster IPs.
		"\(n)-svc": {apiVersion: "v1", kind: "Service", metadata: {name: n, namespace: _ns, labels: sel}
			spec: {clusterIP: "None", selector: sel, ports: [{name: "http", port: 80, targetPort: "http"}]}
		}
		"\(n)-role": {apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: {name: n, namespace: _ns, labels: sel}
			rules: [{apiGroups: [""], resources: ["configmaps", "secrets"], resourceNames: [n], verbs: ["get"]}]
		}
		"\(n)-rolebinding": {apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: {name: n, namespace: _ns, labels: sel}
			roleRef: {apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: n}
			subjects: [{kind: "ServiceAccount", name: n, namespace: _ns}]
		}
		if i < 142 {
			"\(n)-deployment": {apiVersion: "apps/v1", kind: "Deployment", metadata: {name: n, namespace: _ns, labels: sel}
				spec: {
					replicas: 2
					selector: matchLabels: sel
					template: {
						metadata: labels: sel
						spec: {
							serviceAccountName: n
							containers: [{
								name:  "app"
								image: "registry.example.com/team/app:1.4.2"
								ports: [{name: "http", containerPort: 8080}]
								envFrom: [{configMapRef: name: n}]
								resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: memory: "256Mi"}
							}]
						}
					}
				}
			}
		}
	}
}
EOF
}

# The environments, and kubectl's inputs rendered from them. The render
# has its own cache directory: plinth's first apply renders cold.
for i in $(seq "$runs"); do
	mkdir -p "$work/repo/environments/apply-$i"
	env_cue "bench-apply-$i" > "$work/repo/environments/apply-$i/env.cue"
done
PLINTH_CACHE_DIR=$work/render-cache "$plinth" render --root "$work/repo" > "$work/log/render.log" 2>&1 ||
	{ cat "$work/log/render.log" >&2; exit 1; }
for i in $(seq "$runs"); do
	rendered=$work/repo/deploy/apply-$i/objects.yaml
	n=$(grep -c '^kind:' "$rendered")
	[ "$n" -eq "$objects" ] || { echo "$rendered: $n objects, want $objects" >&2; exit 1; }
	sed "s/\bapply-$i\b/kubectl-$i/g" "$rendered" > "$work/kubectl/kubectl-$i.yaml"
done
export PLINTH_CACHE_DIR=$work/cache

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start_cluster
# kubectl as a user runs it: its discovery cache (here under work/) is
# warm, as after any earlier command; plinth has no discovery cache.
kc=("$kubectl" --kubeconfig "$kubeconfig" --cache-dir "$work/kubectl-cache")
"${kc[@]}" api-resources > /dev/null
# The runs' environments share this one cluster on purpose: its marker
# (lib/clustermark) lists them all, as platform owners would.
"${kc[@]}" create namespace plinth-system > /dev/null
"${kc[@]}" -n plinth-system create configmap plinth-cluster \
	--from-literal=environments="$(seq -f 'apply-%g' "$runs")" > /dev/null

# The idle request rate the filter lets through (the controller manager's
# periodic discovery and the like), to judge the counts by.
settle
metrics "$work/idle-0.prom"; sleep 10; metrics "$work/idle-1.prom"
idle=$(requests "$work/idle-0.prom" "$work/idle-1.prom" | cut -f1)

# run PHASE TOOL I CMD...: one measured run after the server has settled;
# appends "phase tool run seconds rss-KiB requests by-verb" to runs.tsv.
# The command's exit status must be 0; its output goes to log/.
run() {
	local phase=$1 tool=$2 i=$3
	shift 3
	local log=$work/log/$phase-$tool-$i
	settle
	metrics "$work/before.prom"
	if ! /usr/bin/time -f '%e %M' -o "$log.time" "$@" > "$log.out" 2> "$log.err"; then
		echo "$phase $tool run $i failed: $*" >&2
		tail -n 20 "$log.err" "$log.out" >&2
		exit 1
	fi
	metrics "$work/after.prom"
	local t m
	read -r t m < "$log.time"
	printf '%s\t%s\t%d\t%s\t%d\t%s\n' "$phase" "$tool" "$i" "$t" "$m" "$(requests "$work/before.prom" "$work/after.prom")" >> "$work/runs.tsv"
	printf '  %-6s %-7s run %d: %6.2f s, %4d MiB, %s\n' "$phase" "$tool" "$i" "$t" $((m / 1024)) \
		"$(tail -n 1 "$work/runs.tsv" | cut -f6,7 | sed 's/\t/ requests: /')" >&2
}

# in_namespace NS: how many of the benchmark's objects NS holds.
in_namespace() {
	"${kc[@]}" get -n "$1" serviceaccounts,configmaps,secrets,services,roles,rolebindings,deployments \
		-l app.kubernetes.io/name --no-headers | wc -l
}

# pair PHASE I PLINTH-CMD -- KUBECTL-CMD: both tools' run I, plinth first
# when I is odd.
pair() {
	local phase=$1 i=$2 sep
	shift 2
	local p=() k=()
	for sep in "$@"; do shift; [ "$sep" = -- ] && break; p+=("$sep"); done
	k=("$@")
	if ((i % 2)); then
		run "$phase" plinth "$i" "${p[@]}"; run "$phase" kubectl "$i" "${k[@]}"
	else
		run "$phase" kubectl "$i" "${k[@]}"; run "$phase" plinth "$i" "${p[@]}"
	fi
}

pl=(--root "$work/repo" --kubeconfig "$kubeconfig")
echo "bench/apply.sh: $runs runs per tool and phase ($(${plinth} version | head -n 1), kubectl $("$kubectl" version --client -o json | grep -m1 gitVersion | cut -d'"' -f4))" >&2
for i in $(seq "$runs"); do
	pair first "$i" "$plinth" apply "apply-$i" "${pl[@]}" -- "${kc[@]}" apply --server-side -f "$work/kubectl/kubectl-$i.yaml"
	for ns in "bench-apply-$i" "bench-kubectl-$i"; do
		n=$(in_namespace "$ns")
		[ "$n" -eq 1000 ] || { echo "first apply: namespace $ns holds $n of the 1,000 objects" >&2; exit 1; }
	done
done
for i in $(seq "$runs"); do
	pair noop "$i" "$plinth" apply "apply-$i" "${pl[@]}" -- "${kc[@]}" apply --server-side -f "$work/kubectl/kubectl-$i.yaml"
done
for i in $(seq "$runs"); do
	# Exit 0 is the check: plinth drift 1 = drift, kubectl diff 1 = a difference.
	pair drift "$i" "$plinth" drift "apply-$i" "${pl[@]}" -- \
		"${kc[@]}" diff --server-side --field-manager=plinth -f "$work/repo/deploy/apply-$i/objects.yaml"
done
stop_cluster
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# The table: per phase and tool, median seconds (min–max), median
# requests per object, median peak RSS; ratio kubectl / plinth of the
# medians (above 1: plinth takes less time).
{
	echo "| 1,000 objects + Namespace, $runs runs each | plinth s, median (min–max) | kubectl s, median (min–max) | kubectl / plinth | plinth requests/object | kubectl requests/object | plinth peak RSS MiB | kubectl peak RSS MiB |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for phase in first noop drift; do
		case $phase in
		first) what="first apply (new namespace)" sum="first apply, 1,001 objects (vs kubectl apply --server-side)" ;;
		noop) what="no-op re-apply" sum="no-op re-apply (vs kubectl apply --server-side)" ;;
		drift) what="drift check, nothing changed" sum="drift check, nothing changed (vs kubectl diff --server-side)" ;;
		esac
		awk -F'\t' -v phase="$phase" -v what="$what" -v sum="$sum" -v objects="$objects" '
			function median(a, n,   i, j, t) {
				for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
				return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			}
			$1 == phase { n[$2]++; s[$2, n[$2]] = $4; r[$2, n[$2]] = $6; m[$2, n[$2]] = $5 }
			function col(tool,   i, ts, rs, ms) {
				for (i = 1; i <= n[tool]; i++) { ts[i] = s[tool, i]; rs[i] = r[tool, i]; ms[i] = m[tool, i] }
				T[tool] = median(ts, n[tool]); MIN[tool] = ts[1]; MAX[tool] = ts[n[tool]]
				R[tool] = median(rs, n[tool]); M[tool] = median(ms, n[tool])
			}
			END {
				col("plinth"); col("kubectl")
				printf "| %s | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.2f | %.3f | %.3f | %d | %d |\n", what,
					T["plinth"], MIN["plinth"], MAX["plinth"], T["kubectl"], MIN["kubectl"], MAX["kubectl"],
					T["kubectl"] / T["plinth"], R["plinth"] / objects, R["kubectl"] / objects, M["plinth"] / 1024, M["kubectl"] / 1024
				# For make bench: work, plinth s, kubectl s, ratio.
				printf "%s\t%.2f s\t%.2f s\t%.2f\n", sum, T["plinth"], T["kubectl"], T["kubectl"] / T["plinth"] > "/dev/stderr"
			}' "$work/runs.tsv" 2>> "$work/summary.tsv"
	done
	echo
	echo "Requests per run by verb (the server's apiserver_request_total; the median run's counts):"
	echo
	echo "| phase | tool | requests | by verb |"
	echo "| --- | --- | --- | --- |"
	for phase in first noop drift; do
		for tool in plinth kubectl; do
			awk -F'\t' -v p="$phase" -v t="$tool" '$1 == p && $2 == t' "$work/runs.tsv" | sort -t$'\t' -k6,6n |
				awk -F'\t' '{row[NR] = $0} END {split(row[int((NR + 1) / 2)], f, "\t"); printf "| %s | %s | %d | %s |\n", f[1], f[2], f[6], f[7]}'
		done
	done
	echo
	echo "Ratio > 1: plinth takes less time. Wall time and peak RSS from /usr/bin/time of the whole process"
	echo "(plinth: a copy of bin/plinth, $("$plinth" version | head -n 1); kubectl $("$kubectl" version --client -o json | grep -m1 gitVersion | cut -d'"' -f4),"
	echo "its discovery cache warm). Requests: the API server's apiserver_request_total before and after each run, without"
	echo "the controller manager's resources (bench/cluster.sh); idle rate through the same filter: $idle requests in 10 s."
	echo "Load average (1, 5, 15 min): $load_start at start, $load_end at end. Runs: tmp/bench-apply/runs.tsv."
} > "$work/table.md"
cat "$work/table.md"

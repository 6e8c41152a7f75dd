#!/usr/bin/env bash
# The fleet benchmark (issue 19): one controller, three target clusters,
# 30 Environments of 300 objects each. As bench/controller.sh, everything
# is a real process: `plinth controller --kubeconfig MGMT
# --leader-elect=false --concurrency C` (a copy of bin/plinth, its own
# client configuration) out of cluster; a management API server and
# TARGETS target API servers, each bin/plinth-demo-cluster serve (envtest's
# kube-apiserver and etcd plus a kube-controller-manager), all on this
# machine; one git repository served over smart HTTP on 127.0.0.1 by
# bin/plinth-demo-cluster git.
#
# The repository holds ENVS environments env-01..env-NN, each rendering
# OBJECTS objects from a CUE comprehension: Namespace fleet-env-NN and
# OBJECTS-1 ConfigMaps in it. Environments are split over the targets in
# blocks (30 over 3: env-01..10 on target 1, 11..20 on 2, 21..30 on 3);
# each target's kubeconfig is a Secret in the management cluster's
# plinth-system, and each target is marked beforehand (ConfigMap
# plinth-system/plinth-cluster) for its environments: a cluster shared by
# several environments lists them all. The Environments poll every
# INTERVAL (10s) and check drift every DRIFT_INTERVAL (1m).
#
# For each value of CONCURRENCY ("2 8": the default, then 8), a fresh
# setup (clusters, repository, controller) and:
#   - first apply: controller start to lastAppliedRevision naming the
#     first commit, per Environment (first, median, last);
#   - steady state: reconciles per minute over STEADY seconds (120) with
#     nothing to apply (controller_runtime_reconcile_total on
#     --metrics-bind-address), the mean reconcile time, the work queue;
#   - push to applied: PUSHES pushes (3) each changing one ConfigMap in
#     TARGETS environments (one per target), then one push changing one
#     ConfigMap in every environment: from the end of `git push` to each
#     Environment's lastAppliedRevision naming the commit. One repository:
#     every push is a new revision of every Environment, so all of them
#     render and apply it; touched and untouched ones are reported apart;
#   - the controller's RSS (VmRSS every second, VmHWM at the end; its
#     sandboxed render children are other processes, sampled apart);
#   - cross-talk, checked in every cluster after the pushes (the script
#     fails when any is found): each target holds the namespaces and
#     labelled objects of its own environments only, every ConfigMap
#     holds its environment's last push, each environment's inventory
#     (plinth-system/plinth-inventory-env-NN, in its target) lists exactly
#     its OBJECTS objects, the markers are unchanged; the management
#     cluster holds no fleet object, inventory or marker; every
#     Environment is Ready on the last commit, with no reconcile errors.
#     PLANT_CROSSTALK=1 plants an object of target 2's environment in
#     target 1 before the checks: the script must then fail.
# The status of all Environments is followed with `kubectl get --watch`
# (every change, stamped on arrival). Prints Markdown tables; everything
# stays in tmp/bench-fleet/ (table.md, summary.tsv for make bench, c<C>/
# per run: logs, samples, status).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$root/bin/k8s-v1.34.4}
kubectl=${KUBECTL:-$KUBEBUILDER_ASSETS/kubectl}
concurrencies=${CONCURRENCY:-2 8}
envs=${ENVS:-30}
targets=${TARGETS:-3}
objects=${OBJECTS:-300}
interval=${INTERVAL:-10s}
drift_interval=${DRIFT_INTERVAL:-1m}
steady=${STEADY:-120}
pushes=${PUSHES:-3}
helper=$root/bin/plinth-demo-cluster
top=$root/tmp/bench-fleet
source "$root/bench/gitserver.sh"

for f in "$KUBEBUILDER_ASSETS/kube-apiserver" "$KUBEBUILDER_ASSETS/etcd" "$kubectl" "$root/bin/plinth" "$helper"; do
	[ -x "$f" ] || { echo "missing $f: run \`make build testbin bin/k8s-v1.34.4/kubectl\` and \`go build -o bin/plinth-demo-cluster ./demo/cluster\`" >&2; exit 1; }
done
command -v git > /dev/null || { echo "the git server (gitkit runs git upload-pack) and the pushes need git on PATH" >&2; exit 1; }
command -v curl > /dev/null || { echo "reading the controller's metrics needs curl on PATH" >&2; exit 1; }
((envs % targets == 0)) || { echo "ENVS ($envs) must be a multiple of TARGETS ($targets)" >&2; exit 1; }
per=$((envs / targets))

rm -rf "$top" && mkdir -p "$top"
# A copy: see bench/apply.sh.
cp "$root/bin/plinth" "$top/plinth"
version=$("$top/plinth" version | head -n 1)

now() { echo "${EPOCHREALTIME}"; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
name() { printf 'env-%02d' "$1"; }
# target_of I: the target (1..TARGETS) of environment I.
target_of() { echo $(((($1 - 1) / per) + 1)); }
# envs_of T: the environments of target T, one per line.
envs_of() { local i; for i in $(seq $((($1 - 1) * per + 1)) $(($1 * per))); do name "$i"; echo; done; }

pids=()
clusters=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
	# The helpers stop etcd, the API server and the controller manager.
	for pid in "${clusters[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${clusters[@]}"; do wait "$pid" 2>/dev/null || true; done
	clusters=()
}
trap cleanup EXIT

# start_clusters: cluster 0 (management) and 1..TARGETS, all at once;
# kubeconfigs in $work/kubeconfig-<i>.
start_clusters() {
	local i pid
	for i in $(seq 0 "$targets"); do
		"$helper" serve "$work/kubeconfig-$i" > "$work/log/cluster-$i.log" 2>&1 &
		clusters+=($!)
	done
	for _ in $(seq 1800); do
		local ready=0
		for i in $(seq 0 "$targets"); do
			grep -q '^ready' "$work/log/cluster-$i.log" 2>/dev/null && ready=$((ready + 1))
		done
		[ "$ready" -eq $((targets + 1)) ] && return 0
		for pid in "${clusters[@]}"; do
			kill -0 "$pid" 2>/dev/null || { tail -n 20 "$work"/log/cluster-*.log >&2; exit 1; }
		done
		sleep 0.1
	done
	echo "the API servers were not ready after 180 s ($work/log/cluster-*.log)" >&2
	exit 1
}
k() { local c=$1; shift; "$kubectl" --kubeconfig "$work/kubeconfig-$c" "$@"; }

# The environments repository. env_cue ENV PUSH: ENV's file, whose
# ConfigMap cm-0 holds data.push PUSH.
env_cue() {
	cat <<EOF
// Benchmark: Namespace fleet-$1 and $((objects - 1)) ConfigMaps (bench/fleet.sh).
package plinth

import "list"

cluster: {version: "1.34.4", runtime: "containerd", nodes: {controlPlane: 1, workers: 1}}
objects: {
	"fleet-$1": {apiVersion: "v1", kind: "Namespace", metadata: name: "fleet-$1"}
	for i in list.Range(0, $((objects - 1)), 1) {
		"cm-\(i)": {
			apiVersion: "v1"
			kind:       "ConfigMap"
			metadata: {name: "cm-\(i)", namespace: "fleet-$1"}
			data: value: "object \(i) of $1"
			if i == 0 {data: push: "$2"}
		}
	}
}
EOF
}
# commit MESSAGE ENV...: writes push $push_n into each ENV, commits,
# pushes; prints the commit. Records each environment's last push in
# $work/pushed/ENV.
commit() {
	local msg=$1 e
	shift
	for e in "$@"; do
		mkdir -p "$repo/environments/$e"
		env_cue "$e" "$push_n" > "$repo/environments/$e/env.cue"
		echo "$push_n" > "$work/pushed/$e"
	done
	git -C "$repo" add -A
	git -C "$repo" -c user.name=bench -c user.email=bench@example.invalid commit -qm "$msg"
	git -C "$repo" push -q "$git_url/envs.git" main 2> "$work/log/push-$push_n.log"
	git -C "$repo" rev-parse HEAD
}

# wait_all SHA [SECONDS]: until every Environment's status names SHA as
# applied (the status log: "time name attempted applied reason").
wait_all() {
	local sha=$1 limit=${2:-600} n
	for _ in $(seq $((limit * 5))); do
		n=$(awk -v sha="$sha" '$4 == sha {seen[$2] = 1} END {print length(seen)}' "$work/status.log")
		[ "$n" -eq "$envs" ] && return 0
		kill -0 "$ctl" 2>/dev/null || { echo "the controller exited:" >&2; tail -n 20 "$work/log/controller.log" >&2; exit 1; }
		sleep 0.2
	done
	echo "revision $sha applied by $n of $envs Environments after $limit s; the others:" >&2
	k 0 get -n plinth-system environments.plinth.dev -o jsonpath='{range .items[*]}{.metadata.name} {.status.lastAppliedRevision} {.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}{"\n"}{end}' |
		grep -v " $sha " >&2 || true
	tail -n 20 "$work/log/controller.log" >&2
	exit 1
}
# applied_at SHA: "name time-applied time-attempted" of each Environment,
# the first status naming SHA.
applied_at() {
	awk -v sha="$1" '
		$3 == sha && !($2 in att) { att[$2] = $1 }
		$4 == sha && !($2 in app) { app[$2] = $1 }
		END { for (e in app) print e, app[e], (e in att ? att[e] : app[e]) }' "$work/status.log" | sort
}
metric() { curl -sf "$metrics_url" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {printf "%.6f\n", s + 0}'; }
cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# One run: a fresh setup, controller --concurrency $1.
run() {
	local c=$1 i t e
	work=$top/c$c
	mkdir -p "$work/log" "$work/pushed"
	push_n=0
	echo "bench/fleet.sh: $envs environments x $objects objects on $targets targets, concurrency $c, interval $interval, driftInterval $drift_interval ($version)" >&2
	local load_start
	load_start=$(loadavg)
	start_clusters

	# The git server and the repository (commit "push 0": every environment).
	start_git_server
	repo=$work/repo
	git init -q -b main "$repo"
	mkdir -p "$repo/cue.mod"
	printf 'module: "bench.example/fleet"\nlanguage: version: "v0.17.0"\n' > "$repo/cue.mod/module.cue"
	local all=()
	for i in $(seq "$envs"); do all+=("$(name "$i")"); done
	first=$(commit "push 0" "${all[@]}")

	# The targets: marked for their environments (a shared cluster lists
	# them all), nothing else.
	for t in $(seq "$targets"); do
		k "$t" create namespace plinth-system > /dev/null
		k "$t" -n plinth-system create configmap plinth-cluster --from-literal=environments="$(envs_of "$t")"$'\n' > /dev/null
	done
	# The management cluster: the CRD, plinth-system, a kubeconfig Secret
	# per target, the Environments.
	k 0 apply --server-side -f "$root/overlays/plinth-controller/crd/plinth.dev_environments.yaml" > /dev/null
	k 0 wait --for condition=established --timeout 60s crd/environments.plinth.dev > /dev/null
	k 0 create namespace plinth-system > /dev/null
	for t in $(seq "$targets"); do
		k 0 -n plinth-system create secret generic "target-$t-kubeconfig" --from-file=value="$work/kubeconfig-$t" > /dev/null
	done
	for i in $(seq "$envs"); do
		cat <<EOF
---
apiVersion: plinth.dev/v1alpha1
kind: Environment
metadata: {name: $(name "$i"), namespace: plinth-system}
spec:
  git: {url: "$git_url/envs.git", ref: {branch: main}}
  environment: $(name "$i")
  interval: $interval
  driftInterval: $drift_interval
  kubeConfig: {secretRef: {name: target-$(target_of "$i")-kubeconfig}}
EOF
	done | k 0 apply --server-side -f - > /dev/null

	# Every change of every Environment's status, stamped on arrival:
	# "time name attempted applied ready-reason". Created first: the
	# readers below may start before the process substitution opens it.
	: > "$work/status.log"
	k 0 get -n plinth-system environments.plinth.dev --watch \
		-o jsonpath='{.metadata.name} {.status.lastAttemptedRevision} {.status.lastAppliedRevision} {.status.conditions[?(@.type=="Ready")].reason}{"\n"}' 2> "$work/log/watch.err" \
		> >(while read -r n attempted applied reason; do echo "$(now) $n ${attempted:--} ${applied:--} ${reason:--}"; done > "$work/status.log") &
	pids+=($!)

	local port=$((20000 + RANDOM % 20000))
	metrics_url=http://127.0.0.1:$port/metrics
	sleep 2
	local cpu_machine_start
	cpu_machine_start=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6; exit}' /proc/stat)
	t_start=$(now)
	"$top/plinth" controller --kubeconfig "$work/kubeconfig-0" --leader-elect=false --concurrency "$c" \
		--metrics-bind-address "127.0.0.1:$port" --health-probe-bind-address "127.0.0.1:$((port + 1))" \
		--report-bind-address "127.0.0.1:$((port + 2))" --work-dir "$work/controller" > "$work/log/controller.log" 2>&1 &
	ctl=$!
	pids+=("$ctl")

	# Every second: "time reconciles VmRSS-KiB children-RSS-KiB queue-depth
	# load1 controller-CPU-s": the children are the sandboxed renders.
	(
		while kill -0 "$ctl" 2>/dev/null; do
			m=$(curl -sf "$metrics_url" | awk '
				/^controller_runtime_reconcile_total\{/ {r += $NF}
				/^workqueue_depth\{.*name="environment"/ {q += $NF}
				END {print r + 0, q + 0}') || m="0 0"
			rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$ctl/status" 2>/dev/null) || rss=0
			kids=$(ps --ppid "$ctl" -o rss= 2>/dev/null | awk '{s += $1} END {print s + 0}') || kids=0
			echo "$(now) ${m% *} ${rss:-0} $kids ${m#* } $(cut -d' ' -f1 /proc/loadavg) $(cpu_of "$ctl")"
			sleep 1
		done
	) > "$work/samples.log" &
	pids+=($!)

	# First apply of all.
	wait_all "$first" 900
	t_all=$(now)
	applied_at "$first" > "$work/first.txt"
	echo "  first apply: all $envs applied $(minus "$t_all" "$t_start") s after the controller started" >&2

	# Steady state: nothing to apply; wait one drift interval's worth of
	# passes to begin (the drift checks right after the first apply), then
	# count over STEADY s.
	sleep 15
	local r0 r1 s0 s1 n0 n1 cpu0 cpu1 ts0 ts1 req0 req1
	ts0=$(now); r0=$(metric 'controller_runtime_reconcile_total{'); s0=$(metric 'controller_runtime_reconcile_time_seconds_sum{'); n0=$(metric 'controller_runtime_reconcile_time_seconds_count{'); cpu0=$(cpu_of "$ctl")
	req0=$(for t in $(seq 0 "$targets"); do k "$t" get --raw /metrics | awk '/^apiserver_request_total\{/ && !/verb="WATCH/ && !/subresource="\/(metrics|healthz|readyz|livez)/ {s += $NF} END {printf "%d ", s}'; done)
	local steady_load_start
	steady_load_start=$(loadavg)
	sleep "$steady"
	ts1=$(now); r1=$(metric 'controller_runtime_reconcile_total{'); s1=$(metric 'controller_runtime_reconcile_time_seconds_sum{'); n1=$(metric 'controller_runtime_reconcile_time_seconds_count{'); cpu1=$(cpu_of "$ctl")
	req1=$(for t in $(seq 0 "$targets"); do k "$t" get --raw /metrics | awk '/^apiserver_request_total\{/ && !/verb="WATCH/ && !/subresource="\/(metrics|healthz|readyz|livez)/ {s += $NF} END {printf "%d ", s}'; done)
	local steady_load_end
	steady_load_end=$(loadavg)
	awk -v r0="$r0" -v r1="$r1" -v s0="$s0" -v s1="$s1" -v n0="$n0" -v n1="$n1" -v t0="$ts0" -v t1="$ts1" -v c0="$cpu0" -v c1="$cpu1" -v c="$c" \
		-v q0="$req0" -v q1="$req1" -v l0="$steady_load_start" -v l1="$steady_load_end" 'BEGIN {
		w = t1 - t0; split(q0, a, " "); split(q1, b, " ")
		printf "steady_window %.1f\nsteady_per_min %.1f\nsteady_mean_s %.3f\nsteady_busy %.2f\nsteady_cpu %.2f\n", w, (r1 - r0) * 60 / w, (n1 > n0 ? (s1 - s0) / (n1 - n0) : 0), (s1 - s0) / (w * c), (c1 - c0) / w
		for (i = 1; i in a; i++) printf "steady_requests_%d %.1f\n", i - 1, (b[i] - a[i]) * 60 / w
		printf "steady_load %s → %s\n", l0, l1 }' > "$work/steady.txt"
	echo "  steady: $(awk '/per_min/ {print $2}' "$work/steady.txt") reconciles/min over $steady s" >&2

	# Pushes: TARGETS environments each (one per target), then all.
	: > "$work/pushes.tsv"
	local k_ touched sha t_push
	for k_ in $(seq "$pushes"); do
		touched=()
		for t in $(seq "$targets"); do touched+=("$(name $(((t - 1) * per + ((k_ - 1) % per) + 1)))"); done
		push_n=$((push_n + 1))
		sha=$(commit "push $push_n" "${touched[@]}")
		t_push=$(now)
		wait_all "$sha" 600
		applied_at "$sha" | awk -v k="$push_n" -v tp="$t_push" -v touched=" ${touched[*]} " -v sha="$sha" \
			'{printf "%d\t%s\t%s\t%s\t%.3f\t%.3f\n", k, sha, $1, (index(touched, " " $1 " ") ? "touched" : "untouched"), $2 - tp, $2 - $3}' >> "$work/pushes.tsv"
		echo "  push $push_n (${touched[*]}): all applied $(awk -v k="$push_n" '$1 == k && $5 > m {m = $5} END {print m}' "$work/pushes.tsv") s after the push" >&2
		sleep 5
	done
	push_n=$((push_n + 1))
	sha=$(commit "push $push_n" "${all[@]}")
	t_push=$(now)
	wait_all "$sha" 600
	applied_at "$sha" | awk -v k="$push_n" -v tp="$t_push" -v sha="$sha" \
		'{printf "%d\t%s\t%s\tall\t%.3f\t%.3f\n", k, sha, $1, $2 - tp, $2 - $3}' >> "$work/pushes.tsv"
	echo "  push $push_n (all): all applied $(awk -v k="$push_n" '$1 == k && $5 > m {m = $5} END {print m}' "$work/pushes.tsv") s after the push" >&2
	last=$sha
	sleep 5

	# The controller's figures before it stops.
	errors=$(metric 'plinth_reconcile_errors_total')
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$ctl/status")
	cpu_total=$(cpu_of "$ctl")
	t_end=$(now)
	local cpu_machine_end
	cpu_machine_end=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6; exit}' /proc/stat)
	machine_busy=$(awk -v a="$cpu_machine_start" -v b="$cpu_machine_end" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / ((y[1] - x[1]) + (y[2] - x[2]))}')
	kill -TERM "$ctl" 2>/dev/null || true
	wait "$ctl" 2>/dev/null || true

	# PLANT_CROSSTALK=1 checks the checks: an object of target 2's first
	# environment in target 1, which must fail the script.
	if [ -n "${PLANT_CROSSTALK:-}" ]; then
		k 1 -n plinth-system create configmap planted > /dev/null
		k 1 -n plinth-system label configmap planted plinth.dev/environment="$(name $((per + 1)))" > /dev/null
	fi
	crosstalk
	cleanup
	load_end=$(loadavg)
	report "$c" "$load_start"
}

# crosstalk: the checks; failures go to $work/crosstalk.txt and fail the
# script after the tables are written.
crosstalk() {
	local t e n want got kinds
	: > "$work/crosstalk.txt"
	bad() { echo "$*" >> "$work/crosstalk.txt"; echo "  CROSS-TALK: $*" >&2; }
	for t in $(seq "$targets"); do
		local mine
		mine=$(envs_of "$t" | paste -sd, -)
		# Namespaces: fleet-<own environments>, nothing of another.
		got=$(k "$t" get namespaces -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | { grep '^fleet-' || true; } | sort | paste -sd, -)
		want=$(envs_of "$t" | sed 's/^/fleet-/' | sort | paste -sd, -)
		[ "$got" = "$want" ] || bad "target $t: namespaces $got, want $want"
		# Objects of any kind labelled for an environment not its own.
		kinds=$(k "$t" api-resources --verbs=list -o name | paste -sd, -)
		got=$(k "$t" get "$kinds" -A -l "plinth.dev/environment,plinth.dev/environment notin ($mine)" -o name 2> "$work/log/kinds.err" | head -n 5)
		[ -z "$got" ] || bad "target $t: objects of other environments: $(echo "$got" | paste -sd' ' -)"
		# Each environment: its ConfigMaps, labelled for it, its last push in
		# cm-0; its inventory, exactly its objects; nothing else in its
		# namespace but the controller manager's kube-root-ca.crt.
		k "$t" get configmaps -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name} {.metadata.labels.plinth\.dev/environment} {.data.push}{"\n"}{end}' > "$work/configmaps-$t.txt"
		for e in $(envs_of "$t"); do
			n=$(awk -v ns="fleet-$e" -v e="$e" '$1 == ns && $3 == e' "$work/configmaps-$t.txt" | wc -l)
			[ "$n" -eq $((objects - 1)) ] || bad "target $t: $n ConfigMaps of $e in fleet-$e, want $((objects - 1))"
			n=$(awk -v ns="fleet-$e" -v e="$e" '$1 == ns && $3 != e && $2 != "kube-root-ca.crt"' "$work/configmaps-$t.txt" | wc -l)
			[ "$n" -eq 0 ] || bad "target $t: $n ConfigMaps in fleet-$e not labelled for $e"
			got=$(awk -v ns="fleet-$e" '$1 == ns && $2 == "cm-0" {print $4}' "$work/configmaps-$t.txt")
			[ "$got" = "$(cat "$work/pushed/$e")" ] || bad "target $t: fleet-$e/cm-0 holds push '$got', want $(cat "$work/pushed/$e")"
			k "$t" -n plinth-system get configmap "plinth-inventory-$e" -o jsonpath='{.data.entries}' | awk '{print $2, $3, $4, $5}' | sort > "$work/inventory-$e.txt" || true
			{
				echo "v1 Namespace - fleet-$e"
				for i in $(seq 0 $((objects - 2))); do echo "v1 ConfigMap fleet-$e cm-$i"; done
			} | sort > "$work/inventory-want.txt"
			cmp -s "$work/inventory-$e.txt" "$work/inventory-want.txt" ||
				bad "target $t: inventory of $e: $(wc -l < "$work/inventory-$e.txt") entries, $(comm -3 "$work/inventory-$e.txt" "$work/inventory-want.txt" | wc -l) differing from its $objects objects"
		done
		got=$(k "$t" -n plinth-system get configmaps -l plinth.dev/inventory -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort | paste -sd, -)
		want=$(envs_of "$t" | sed 's/^/plinth-inventory-/' | sort | paste -sd, -)
		[ "$got" = "$want" ] || bad "target $t: inventories $got, want $want"
		got=$(k "$t" -n plinth-system get configmap plinth-cluster -o jsonpath='{.data.environments}' | { grep . || true; } | paste -sd, -)
		[ "$got" = "$mine" ] || bad "target $t: marker lists $got, want $mine"
	done
	# The management cluster: no fleet namespace, labelled object,
	# inventory or marker.
	got=$(k 0 get namespaces -o name | grep '/fleet-' || true)
	[ -z "$got" ] || bad "management cluster: namespaces $(echo "$got" | paste -sd' ' -)"
	kinds=$(k 0 api-resources --verbs=list -o name | paste -sd, -)
	got=$(k 0 get "$kinds" -A -l plinth.dev/environment -o name 2> "$work/log/kinds.err" | head -n 5)
	[ -z "$got" ] || bad "management cluster: labelled objects $(echo "$got" | paste -sd' ' -)"
	got=$(k 0 get configmaps -A -l plinth.dev/inventory -o name)
	[ -z "$got" ] || bad "management cluster: inventories $(echo "$got" | paste -sd' ' -)"
	got=$(k 0 -n plinth-system get configmap plinth-cluster -o name --ignore-not-found)
	[ -z "$got" ] || bad "management cluster: a marker $got"
	# Every Environment Ready on the last commit; no reconcile errors.
	n=$(k 0 get -n plinth-system environments.plinth.dev -o jsonpath='{range .items[*]}{.status.lastAppliedRevision} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c "^$last True$" || true)
	[ "$n" -eq "$envs" ] || bad "$n of $envs Environments Ready on $last"
	[ "${errors%.*}" -eq 0 ] || bad "$errors reconcile errors (plinth_reconcile_errors_total)"
	# Status reasons other than Applied seen on the way.
	awk '$5 != "Applied" && $5 != "-" {print $2, $5}' "$work/status.log" | sort | uniq -c > "$work/reasons.txt"
	return 0
}

# report C LOAD-START: the run's table into $work/table.md.
report() {
	local c=$1 load_start=$2
	{
		echo "#### --concurrency $c"
		echo
		echo "Load average (1, 5, 15 min): $load_start at start, $load_end at end; 1-min load during the run $(awk 'NR == 1 || $6 < lo {lo = $6} $6 > hi {hi = $6} END {print lo "–" hi}' "$work/samples.log"); machine CPU busy $machine_busy% (of $(nproc) cores, /proc/stat, controller start to stop)."
		echo
		echo "| $envs Environments × $objects objects on $targets targets, interval $interval, driftInterval $drift_interval, --concurrency $c | figure |"
		echo "| --- | --- |"
		awk -v start="$t_start" '{a[NR] = $2 - start; s[NR] = $2 - $3} END {
			n = NR; for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			printf "| first apply: controller start → lastAppliedRevision, per Environment: first, median, last | %.1f s, %.1f s, %.1f s |\n", a[1], (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2), a[n]
			printf "| first apply: all %d × %d objects applied, per minute | %.0f objects/min |\n", n, '"$objects"', n * '"$objects"' * 60 / a[n] }' "$work/first.txt"
		awk '
			/^steady_window/ {w = $2} /^steady_per_min/ {pm = $2} /^steady_mean_s/ {ms = $2} /^steady_busy/ {b = $2} /^steady_cpu/ {cpu = $2}
			/^steady_requests_0/ {r0 = $2} /^steady_requests_[1-9]/ {rt = rt (rt ? ", " : "") $2}
			/^steady_load/ {sub(/^steady_load /, ""); l = $0}
			END {
				printf "| steady state, nothing to apply: reconciles per minute (controller_runtime_reconcile_total over %.0f s) | %.1f |\n", w, pm
				printf "| – mean reconcile time; workers busy | %.3f s; %.0f%% |\n", ms, b * 100
				printf "| – controller CPU (of one core) | %.0f%% |\n", cpu * 100
				printf "| – requests per minute: management; each target (apiserver_request_total, no WATCH) | %.0f; %s |\n", r0, rt
				printf "| – load average during the window | %s |\n", l }' "$work/steady.txt"
		awk -F'\t' '
			function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
			function median(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
			{ g = $4; n[g]++; v[g, n[g]] = $5; w[g, n[g]] = $6; if (g != "all") pushes[$1] = 1 }
			END {
				split("touched untouched all", gs, " ")
				label["touched"] = "pushes changing " '"$targets"' " environments (" length(pushes) " pushes): the changed environments"
				label["untouched"] = "– the same pushes: the other environments (a new revision, nothing changed)"
				label["all"] = "one push changing every environment"
				for (k = 1; k <= 3; k++) {
					g = gs[k]; m = n[g]; if (!m) continue
					delete a; delete b
					for (i = 1; i <= m; i++) { a[i] = v[g, i]; b[i] = w[g, i] }
					sort(a, m); sort(b, m)
					printf "| push → applied, %s: median, max (n = %d) | %.1f s, %.1f s |\n", label[g], m, median(a, m), a[m]
					printf "| – of which: reconcile that saw it started → applied, median, max | %.1f s, %.1f s |\n", median(b, m), b[m]
				}
			}' "$work/pushes.tsv"
		awk '$3 > peak {peak = $3} $4 > kids {kids = $4} $3 + $4 > both {both = $3 + $4} END {
			printf "| controller peak RSS: VmHWM; largest 1 s VmRSS sample | %.1f MiB; %.1f MiB |\n", '"$hwm"' / 1024, peak / 1024
			printf "| render children (sandbox) largest RSS sum in a sample; controller + children | %.1f MiB; %.1f MiB |\n", kids / 1024, both / 1024 }' "$work/samples.log"
		awk -v cpu="$cpu_total" -v t0="$t_start" -v t1="$t_end" 'BEGIN {printf "| controller CPU, start to stop | %.0f s in %.0f s |\n", cpu, t1 - t0}'
		echo "| reconcile errors (plinth_reconcile_errors_total) | ${errors%.*} |"
		if [ -s "$work/crosstalk.txt" ]; then
			echo "| cross-talk | **$(wc -l < "$work/crosstalk.txt") findings** ($work/crosstalk.txt) |"
		else
			echo "| cross-talk: every target holds only its environments' namespaces and objects, inventories exact, markers unchanged, nothing in the management cluster | none |"
		fi
		if [ -s "$work/reasons.txt" ]; then
			echo
			echo "Ready reasons other than Applied seen in the status: $(awk '{printf "%s%s %s ×%d", (NR > 1 ? ", " : ""), $2, $3, $1}' "$work/reasons.txt")."
		fi
		echo
		echo "RSS every 30 s (s since start: controller VmRSS MiB): $(awk -v s="$t_start" '{b = int(($1 - s) / 30) * 30} !(b in seen) {seen[b] = 1; printf "%s%d: %.0f", (n++ ? ", " : ""), b, $3 / 1024}' "$work/samples.log")."
		echo
	} > "$work/table.md"
	# For make bench (bench/summary.sh).
	awk -F'\t' -v c="$c" -v e="$envs" -v o="$objects" -v t="$targets" -v hwm="$hwm" '
		$4 == "touched" {a[++n] = $5}
		END {
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { x = a[j]; a[j] = a[j - 1]; a[j - 1] = x }
			printf "fleet: %d × %d objects on %d targets, --concurrency %d: push-to-applied of a changed environment (median), peak RSS\t%.2f s, %.0f MiB\t–\t–\n", e, o, t, c, (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2), hwm / 1024
		}' "$work/pushes.tsv" >> "$top/summary.tsv"
}

: > "$top/summary.tsv"
for c in $concurrencies; do
	run "$c"
done
{
	echo "### Fleet (bench/fleet.sh): $envs Environments × $objects objects, $targets targets ($version)"
	echo
	for c in $concurrencies; do cat "$top/c$c/table.md"; done
	echo "Times: the Environments' status as \`kubectl get --watch\` delivered it; pushes: the git CLI over HTTP to"
	echo "bin/plinth-demo-cluster git. All $((targets + 1)) API servers (each with etcd and a kube-controller-manager), the git"
	echo "server and the controller share this machine ($(nproc) cores). Logs: tmp/bench-fleet/."
} > "$top/table.md"
cat "$top/table.md"
found=0
for c in $concurrencies; do [ -s "$top/c$c/crosstalk.txt" ] && found=1; done
[ "$found" -eq 0 ] || { echo "cross-talk found: tmp/bench-fleet/c*/crosstalk.txt" >&2; exit 1; }

# Sourced by bench/apply.sh and bench/controller.sh: a local API server for
# whole-process benchmarks, and request counts read from the server itself.
#
# The cluster is make demo's helper (bin/plinth-demo-cluster serve): envtest's
# kube-apiserver and etcd plus a kube-controller-manager, as lib/kubetest
# starts them. Requests are counted from the API server's own metrics
# (apiserver_request_total on /metrics, read with the admin kubeconfig
# before and after a run), so plinth and kubectl are counted the same
# independent way, whatever their clients log.
#
# The caller sets: root, work, kubectl (a kubectl binary; it reads the
# metrics), and KUBEBUILDER_ASSETS.

kubeconfig=$work/kubeconfig
cluster_pid=

# start_cluster: start the API server in the background, wait for "ready".
start_cluster() {
	local helper=$root/bin/plinth-demo-cluster
	[ -x "$helper" ] || { echo "missing $helper: go build -o bin/plinth-demo-cluster ./demo/cluster (make bench does)" >&2; exit 1; }
	rm -f "$kubeconfig"
	"$helper" serve "$kubeconfig" > "$work/cluster.log" 2>&1 &
	cluster_pid=$!
	for _ in $(seq 1200); do
		grep -q '^ready' "$work/cluster.log" 2>/dev/null && return 0
		kill -0 "$cluster_pid" 2>/dev/null || { cat "$work/cluster.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "the local API server was not ready after 120 s ($work/cluster.log)" >&2
	exit 1
}

# stop_cluster: SIGTERM, then wait (the helper stops etcd and the
# controller manager and removes the kubeconfig). For trap ... EXIT.
stop_cluster() {
	if [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null; then
		kill -TERM "$cluster_pid" 2>/dev/null || true
		wait "$cluster_pid" 2>/dev/null || true
	fi
	cluster_pid=
}

# metrics FILE: the server's apiserver_request_total series into FILE.
metrics() {
	"$kubectl" --kubeconfig "$kubeconfig" get --raw /metrics | grep '^apiserver_request_total{' > "$1"
}

# What counts as a request of the tool measured: everything the server
# answered between two readings except
#   - /metrics, /healthz, /readyz, /livez (the benchmark's own readings,
#     probes);
#   - WATCH (long-running; neither tool watches here);
#   - what kube-controller-manager does in reaction to the objects applied
#     (ReplicaSets, Pods, Endpoints, EndpointSlices, Events, Leases, and
#     any status subresource): the metrics do not say who sent a request,
#     so these resources, which neither plinth nor kubectl writes, are left
#     out by name. What remains of the controller manager inside a window
#     (kube-root-ca.crt and the default ServiceAccount of each new
#     namespace, its discovery every 30 s) is a handful of requests per
#     run, counted as the tool's; the scripts print the idle rate.
# Requests are grouped by verb, dry runs apart ("APPLY/dry-run"), and
# discovery (/api, /apis, /openapi/..., /version) as "discovery".
count_awk='
	function labels(s,   out, n, i, kv, parts) {
		delete out_
		sub(/^apiserver_request_total\{/, "", s); sub(/\}$/, "", s)
		n = split(s, parts, /",/)
		for (i = 1; i <= n; i++) { split(parts[i], kv, /="/); gsub(/"/, "", kv[2]); out_[kv[1]] = kv[2] }
	}
	function kind(series) {
		labels(series)
		if (out_["verb"] == "WATCH" || out_["verb"] == "WATCHLIST") return ""
		if (out_["subresource"] ~ /^\/(metrics|healthz|readyz|livez)/) return ""
		if (out_["resource"] == "") return "discovery"
		if (out_["subresource"] == "status") return ""
		if (out_["resource"] ~ /^(replicasets|pods|endpoints|endpointslices|events|leases)$/) return ""
		return out_["verb"] (out_["dry_run"] != "" ? "/dry-run" : "")
	}
	FNR == NR { before[$1] = $2; next }
	{ d = $2 - before[$1]; if (d > 0 && (k = kind($1)) != "") by[k] += d }
'

# requests BEFORE AFTER: "total<TAB>VERB=N VERB=N ..." of the requests
# between two metrics files.
requests() {
	local by
	by=$(awk "$count_awk"' END {for (k in by) printf "%s=%d\n", k, by[k]}' "$1" "$2" | sort)
	printf '%d\t%s\n' "$(printf '%s\n' "$by" | awk -F= '{s += $2} END {print s + 0}')" "$(printf '%s' "$by" | paste -sd ' ')"
}

# all_requests FILE: the sum of every series but the benchmark's own
# readings: it moves while the controller manager is still at work.
all_requests() {
	awk '$1 !~ /subresource="\/(metrics|healthz|readyz|livez)"/ && $1 !~ /verb="WATCH/ {s += $2} END {printf "%d\n", s}' "$1"
}

# settle: wait until the server has answered nothing new for 2 s (the
# controller manager's reactions to the last run have ended: Pods and
# ReplicaSets of Deployments, Endpoints of Services), at most 120 s, so
# that one run's aftermath neither loads nor is counted in the next.
settle() {
	local last=-1 now quiet=0
	for _ in $(seq 120); do
		metrics "$work/settle.prom"
		now=$(all_requests "$work/settle.prom")
		if [ "$now" = "$last" ]; then
			quiet=$((quiet + 1))
			[ "$quiet" -ge 2 ] && return 0
		else
			quiet=0
		fi
		last=$now
		sleep 1
	done
	echo "settle: the API server was still busy after 120 s" >&2
}

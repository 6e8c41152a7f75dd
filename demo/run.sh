#!/usr/bin/env bash
# make demo: plinth's main job end to end, with no cluster and no network of
# yours, on the repository's example environments:
#
#   build; vet every example; vendor prod from the shared fixtures; render
#   prod and dev; the Markdown diff of a pull request (a tenant's GPU quota,
#   changed in a throw-away clone); start a local kube-apiserver and etcd;
#   apply dev; a hand edit by another field manager; drift dev as text and
#   as an HTML page; stop the server.
#
# One line per step with its time. Everything it writes goes to tmp/demo/
# (logs of every step in tmp/demo/log/); the repository's files are left
# as they are. Run through make (make demo), which passes MAKE, GO,
# TESTBIN and FIXTURES.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
MAKE=${MAKE:-make}
GO=${GO:-go}
TESTBIN=${TESTBIN:?TESTBIN not set: run make demo}
FIXTURES=${FIXTURES:-$root/../shared/fixtures}
out=$root/tmp/demo
log=$out/log
plinth=$root/bin/plinth
helper=$root/bin/plinth-demo-cluster
kubeconfig=$out/kubeconfig

if [ ! -f "$FIXTURES/charts/index.yaml" ] || [ ! -d "$FIXTURES/kubeflow-manifests" ]; then
	echo "demo: no fixtures at $FIXTURES: prod renders upstream Helm charts and Kubeflow manifests" >&2
	echo "      vendored from ../shared/fixtures (beside this repository; see its README.md)." >&2
	echo "      Put them there, or name them: make demo FIXTURES=/path/to/fixtures" >&2
	exit 2
fi

# The one-time builds, measured on 2 cores from an empty Go build cache.
first=
[ -x "$plinth" ] || first="$first, plinth (about 6 minutes)"
for f in kube-apiserver etcd kube-controller-manager; do
	if [ ! -x "$TESTBIN/$f" ]; then
		first="$first, kube-apiserver, etcd and kube-controller-manager (about 8 minutes, once per Kubernetes version)"
		break
	fi
done
if [ -n "$first" ]; then
	echo "First run: one-time builds from Go modules take minutes on 2 cores: ${first#, }."
	echo "Later runs reuse them and take under a minute."
fi

mkdir -p "$log"
rm -f "$log"/*.log
start_all=${EPOCHREALTIME/./}
n=0
name=
t0=0

here=
# run_here NAME OK-CODES CMD...: run in this shell, for the functions that
# start and stop the cluster (they keep its process id; they handle their
# errors themselves).
run_here() {
	here=1
	run "$@"
	here=
}

# run NAME OK-CODES CMD...: runs CMD with its output in tmp/demo/log/NN-*.log;
# an exit status not in OK-CODES (e.g. "0 1": diff and drift exit 1 when
# they find something) ends the demo, showing the end of the log.
run() {
	name=$1 ok=$2
	shift 2
	n=$((n + 1))
	steplog=$(printf '%s/%02d-%s.log' "$log" "$n" "$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-' | tr -s '-' | cut -c1-40)")
	t0=${EPOCHREALTIME/./}
	local code=0
	# A subshell outside any || list, so that set -e stops a function at
	# its first failing command.
	set +e
	if [ "$here" ]; then "$@"; else (set -e; "$@"); fi >"$steplog" 2>&1
	code=$?
	set -e
	case " $ok " in
	*" $code "*) ;;
	*)
		printf '%2d. %-52s FAILED (exit %d) after %s\n' "$n" "$name" "$code" "$(since "$t0")"
		echo "--- ${steplog#"$root"/} (last 30 lines):"
		tail -n 30 "$steplog"
		exit 1
		;;
	esac
}

# since T: seconds since T (microseconds), as 12.3s.
since() {
	local us=$((${EPOCHREALTIME/./} - $1))
	printf '%d.%ds' $((us / 1000000)) $((us % 1000000 / 100000))
}

# done_ DETAIL: the step's line.
done_() {
	printf '%2d. %-52s %7s  %s\n' "$n" "$name" "$(since "$t0")" "$*"
}

# rel PATH: PATH relative to the repository.
rel() { echo "${1#"$root"/}"; }

cluster_pid=
stop_cluster() {
	if [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null; then
		kill -TERM "$cluster_pid" 2>/dev/null || true
		wait "$cluster_pid" 2>/dev/null || true
	fi
	cluster_pid=
}
trap stop_cluster EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# plinth keys its render cache on its executable (size and modification
# time): bin/plinth is replaced only when the build differs, so a second
# demo renders from the cache. BUILD_DATE is the commit's date, so that
# the same tree builds the same binary.
build_plinth() {
	local date
	date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || true)
	"$MAKE" -s --no-print-directory build BIN="$out/bin" ${date:+BUILD_DATE="$date"}
	if cmp -s "$out/bin/plinth" "$plinth"; then
		echo "unchanged"
	else
		mkdir -p "$(dirname "$plinth")"
		cp "$out/bin/plinth" "$plinth.new"
		mv "$plinth.new" "$plinth"
		echo "rebuilt"
	fi
}
run "build bin/plinth" 0 build_plinth
done_ "$("$plinth" version 2>/dev/null | head -n 1 || true) ($(tail -n 1 "$steplog"))"

run "build kube-apiserver, etcd, kube-controller-manager" 0 "$MAKE" -s --no-print-directory testbin
done_ "$(rel "$TESTBIN")/ (once per version)"

run "build the demo's cluster helper" 0 "$GO" build -o "$helper" ./demo/cluster
done_ "$(rel "$helper") (demo/cluster)"

run "vet every example environment" 0 "$plinth" vet --root "$root"
done_ "$(tail -n 1 "$steplog")"

vendor_flags=(--vendor-dir "$out/vendor" --lock "$out/plinth.lock")
vendor_prod() {
	bench/fixture-mirror.sh "$FIXTURES" "$out/git-mirror"
	"$plinth" vendor prod --root "$root" "${vendor_flags[@]}" \
		--charts-mirror "$FIXTURES/charts" --git-mirror "$out/git-mirror"
}
run "vendor prod from the fixtures (offline)" 0 vendor_prod
done_ "$(grep -c '"key":' "$out/plinth.lock") source(s) pinned in $(rel "$out/plinth.lock")"

run "render prod and dev" 0 "$plinth" render prod dev --root "$root" "${vendor_flags[@]}" --out "$out/deploy"
done_ "$(grep '^rendered' "$steplog" | sed 's/^rendered //; s/ ->.*//' | paste -sd ';' | sed 's/;/; /g') -> $(rel "$out/deploy")/"

# A pull request: risk-models gets two more GPUs, in a throw-away clone of
# HEAD (a working tree edit; --base defaults to the merge base, HEAD).
pr() {
	rm -rf "$out/clone"
	git clone -q "$root" "$out/clone"
	sed -i 's/quota: {cpu: "64", memory: "256Gi", gpu: 2}/quota: {cpu: "64", memory: "256Gi", gpu: 4}/' \
		"$out/clone/environments/prod/tenants.cue"
	git -C "$out/clone" diff --quiet && { echo "the edit matched nothing in environments/prod/tenants.cue"; return 2; }
	"$plinth" diff prod --root "$out/clone" "${vendor_flags[@]}" -o markdown >"$out/diff-prod.md"
}
run "diff a PR: risk-models' GPU quota 2 -> 4 (prod)" "1" pr
done_ "$(rel "$out/diff-prod.md") ($(wc -l <"$out/diff-prod.md") lines of Markdown)"

start_cluster() {
	rm -f "$kubeconfig"
	KUBEBUILDER_ASSETS=$TESTBIN "$helper" serve "$kubeconfig" >"$log/cluster.log" 2>&1 &
	cluster_pid=$!
	for _ in $(seq 1200); do
		grep -q '^ready' "$log/cluster.log" 2>/dev/null && return 0
		kill -0 "$cluster_pid" 2>/dev/null || { cat "$log/cluster.log"; return 1; }
		sleep 0.1
	done
	echo "not ready after 120 s"
	return 1
}
run_here "start kube-apiserver, etcd, kube-controller-manager" 0 start_cluster
done_ "local, kubeconfig $(rel "$kubeconfig")"

run "apply dev --prune" 0 "$plinth" apply dev --prune --root "$root" "${vendor_flags[@]}" --kubeconfig "$kubeconfig"
done_ "$(awk '/^COMPONENT/ {t = 1; next} t {n++; c += $2; f += $3; u += $4; d += $7}
	END {printf "%d components: %d objects created, %d configured, %d unchanged, %d pruned", n, c, f, u, d}' "$steplog")"

run "hand edit: team-a's CPU quota 8 -> 16 (kubectl-edit)" 0 "$helper" edit "$kubeconfig"
done_ "ResourceQuota team-a/tenant-quota, field manager kubectl-edit"

run "drift dev" "1" sh -c '"$0" drift dev --root "$1" --vendor-dir "$2" --lock "$3" --kubeconfig "$4" >"$5"' \
	"$plinth" "$root" "$out/vendor" "$out/plinth.lock" "$kubeconfig" "$out/drift-dev.txt"
done_ "$(rel "$out/drift-dev.txt"): $(grep -m1 -iE 'drift' "$out/drift-dev.txt" || head -n 1 "$out/drift-dev.txt")"

run "drift dev -o html" "1" sh -c '"$0" drift dev --root "$1" --vendor-dir "$2" --lock "$3" --kubeconfig "$4" -o html >"$5"' \
	"$plinth" "$root" "$out/vendor" "$out/plinth.lock" "$kubeconfig" "$out/drift-dev.html"
done_ "$(rel "$out/drift-dev.html") ($(wc -c <"$out/drift-dev.html") bytes)"

run_here "stop the server" 0 stop_cluster
done_ ""

echo
echo "What drift said ($(rel "$out/drift-dev.txt")):"
sed 's/^/    /' "$out/drift-dev.txt"
echo
echo "demo done in $(since "$start_all")"
echo "PR diff (Markdown):  $out/diff-prod.md"
echo "drift report (HTML): $out/drift-dev.html"

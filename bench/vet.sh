#!/usr/bin/env bash
# Wall time of `plinth vet` over the example environments (median of 10),
# and the evaluation counters of CUE for prod, measured with the cue CLI
# on the same schema and environment files.
set -euo pipefail
plinth=$(realpath "${1:-bin/plinth}")
root=$(cd "$(dirname "$0")/.." && pwd)

times=()
for _ in $(seq 10); do
	start=$(date +%s%N)
	"$plinth" vet --root "$root" 2>/dev/null
	times+=($(( ($(date +%s%N) - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "plinth vet (dev, okd, prod): median ${sorted[4]} ms of 10 runs (min ${sorted[0]}, max ${sorted[9]})"

# CUE's own counters: evaluate #Platform for prod with the cue CLI.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root"/cue/*.cue "$work"/
mkdir -p "$work/env"
for f in "$root"/environments/*.cue "$root"/environments/prod/*.cue; do
	sed 's/^package plinth$/package env/' "$f" > "$work/env/$(basename "$(dirname "$f")")-$(basename "$f")"
done
cat > "$work/check.cue" <<'CUE'
package plinth

import env "plinth.bench/env"

check: #Platform & {"env": {
	cluster: env.cluster, network: env.network, storage: env.storage,
	components: env.components, tenants: env.tenants, drift: env.drift
}}
CUE
mkdir -p "$work/cue.mod" && printf 'module: "plinth.bench"\nlanguage: version: "v0.17.0"\n' > "$work/cue.mod/module.cue"
GOBIN="$root/bin" go install cuelang.org/go/cmd/cue@v0.17.1
cue="$root/bin/cue"
cd "$work"

# The same evaluation with the cue CLI, the tool a user would reach for.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cue_ms=$(for _ in $(seq 10); do
	start=$(date +%s%N); "$cue" eval -e 'check.rules' . > /dev/null; echo $(( ($(date +%s%N) - start) / 1000000 ))
done | median)
plinth_ms=$(for _ in $(seq 10); do
	start=$(date +%s%N); "$plinth" vet --root "$root" prod 2>/dev/null || exit 1; echo $(( ($(date +%s%N) - start) / 1000000 ))
done | median)
echo "prod only: plinth vet ${plinth_ms} ms (sandboxed child process included), cue eval ${cue_ms} ms, ratio $(awk "BEGIN {printf \"%.2f\", $plinth_ms / $cue_ms}")"

CUE_STATS_FILE=stats.json "$cue" eval -e 'check.rules' . > /dev/null
echo "cue stats for prod (#Platform.rules):"
cat stats.json

#!/usr/bin/env bash
# Builds a local git mirror of kubeflow/manifests at tag 26.03 from the
# shared fixtures: <out>/github.com/kubeflow/manifests. Together with
# ../shared/fixtures/charts as the chart mirror, plinth vendor can then pin
# prod's and okd's sources without a network.
set -euo pipefail
fixtures=${1:?usage: fixture-mirror.sh FIXTURES_DIR OUT_DIR}
out=${2:?usage: fixture-mirror.sh FIXTURES_DIR OUT_DIR}
repo="$out/github.com/kubeflow/manifests"
if [ -d "$repo/.git" ] && git -C "$repo" rev-parse -q --verify refs/tags/26.03 >/dev/null; then
	exit 0
fi
rm -rf "$repo"
mkdir -p "$repo"
cp -R "$fixtures/kubeflow-manifests/." "$repo/"
cd "$repo"
git init -q
git add -A
GIT_AUTHOR_DATE=2026-03-21T00:00:00Z GIT_COMMITTER_DATE=2026-03-21T00:00:00Z \
	git -c user.name=plinth -c user.email=plinth@example.invalid commit -q -m "kubeflow/manifests 26.03 (fixture)"
git tag 26.03

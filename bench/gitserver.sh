# Sourced by bench/controller.sh and bench/fleet.sh: the git server the
# controller follows (bin/plinth-demo-cluster git, go-git's HTTP server).
#
# The caller sets: root, work (a directory with log/), pids (an array the
# caller's cleanup waits for).

# start_git_server: serve $work/git in the background; sets git_url once
# the server says "ready".
start_git_server() {
	mkdir -p "$work/git"
	"$root/bin/plinth-demo-cluster" git "$work/git" > "$work/log/git.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do grep -qs '^ready' "$work/log/git.log" && break; sleep 0.1; done
	git_url=$(awk '/^ready/ {print $2}' "$work/log/git.log")
	[ -n "$git_url" ] || { cat "$work/log/git.log" >&2; exit 1; }
}

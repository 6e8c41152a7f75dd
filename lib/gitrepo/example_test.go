package gitrepo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/plinth-platform/plinth/lib/gitrepo"
)

// The reconciler's poll: Head is cheap and fetches nothing; Fetch runs
// only when the commit changed.
func Example() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "gitrepo-example-")
	defer os.RemoveAll(tmp)
	url := "file://" + filepath.ToSlash(exampleRepo(filepath.Join(tmp, "environments")))

	// Credentials come from a Secret; a file:// repository needs none.
	auth, err := gitrepo.AuthFromSecret(map[string][]byte{"username": []byte("git"), "token": []byte("…")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(auth)

	lastApplied := ""
	commit, err := gitrepo.Head(ctx, url, gitrepo.Ref{Branch: "main"}, auth)
	if err != nil {
		fmt.Println(err)
		return
	}
	if commit != lastApplied {
		dir := filepath.Join(tmp, "checkout")
		got, err := gitrepo.Fetch(ctx, url, gitrepo.Ref{Branch: "main"}, auth, commit, dir)
		if err != nil {
			fmt.Println(err)
			return
		}
		env, _ := os.ReadFile(filepath.Join(dir, "environments", "prod", "env.cue"))
		fmt.Printf("checked out %s: %s", got[:7], env)
	}
	// Output:
	// username git, password set
	// checked out 6c8ef3e: package plinth
}

// exampleRepo makes a repository with one commit on main.
func exampleRepo(dir string) string {
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		panic(err)
	}
	_ = os.MkdirAll(filepath.Join(dir, "environments", "prod"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "environments", "prod", "env.cue"), []byte("package plinth\n"), 0o644)
	wt, _ := r.Worktree()
	_ = wt.AddWithOptions(&git.AddOptions{All: true})
	sig := &object.Signature{Name: "plinth", Email: "plinth@example.invalid", When: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := wt.Commit("environments: prod", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		panic(err)
	}
	return dir
}

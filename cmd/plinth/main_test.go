package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/rogpeppe/go-internal/testscript"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/cmd/plinth/cli"
	"github.com/plinth-platform/plinth/lib/capool/capooltest"
	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/needs"
)

// TestMain lets testscript run the real plinth main as the "plinth"
// command, in its own process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"plinth": func() { os.Exit(cli.Main()) },
	})
}

// TestScript runs testdata/script/*.txtar. Set UPDATE_SCRIPTS=1 to
// rewrite their expected output (then review the diff).
func TestScript(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// A bank's chart repository: the shared fixtures over HTTPS with a
	// certificate from a private CA, behind basic auth ($PRIVATE_CHARTS,
	// the CA in $PRIVATE_CA, the password scriptPassword).
	ca := capooltest.NewCA(t, "Test Bank Root CA")
	privateCA := ca.WriteFile(t, t.TempDir(), "ca.pem")
	privateCharts := ca.Server(t, capooltest.BasicAuth("ci", scriptPassword,
		http.FileServer(http.Dir(filepath.Join(needs.FixturesDir(repo), "charts"))))).URL
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("FIXTURES", needs.FixturesDir(repo))
			env.Setenv("PLINTH_CACHE_DIR", filepath.Join(env.WorkDir, ".cache"))
			env.Setenv("PRIVATE_CHARTS", privateCharts)
			env.Setenv("PRIVATE_CA", privateCA)
			return nil
		},
		// [fixtures]: the shared fixtures are there (needs.FixturesDir). Without
		// it a script that needs it fails, unless PLINTH_SKIP names
		// fixtures (lib/needs): then the condition is false.
		Condition: func(cond string) (bool, error) {
			if cond != "fixtures" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			_, err := os.Stat(filepath.Join(needs.FixturesDir(repo), "charts", "index.yaml"))
			if err != nil {
				return false, needs.Condition(needs.Fixtures, err, needs.ProvideFixtures)
			}
			return true, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":     exitCode,
			"git-init":     gitInit,
			"git-commit":   gitCommit,
			"git-tag":      gitTag,
			"git-branch":   gitBranch,
			"age-keygen":   ageKeygen,
			"sops-encrypt": sopsEncrypt,
		},
	})
}

// scriptPassword is $PRIVATE_CHARTS's password: scripts write it to a
// netrc and check that no output holds it.
const scriptPassword = "sentinel-Pw-7Kq2-never-printed"

// exitCode runs a command and checks its exit status:
// exitcode N command [args...].
func exitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		got = exitErr.ExitCode()
	case err != nil:
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// The git-* commands build a real repository in $WORK with go-git, as an
// environments repository would be: no git binary involved.

// gitInit makes $WORK a repository without commits, on branch main:
// git-init.
func gitInit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: git-init")
	}
	_, err := git.PlainInitWithOptions(ts.Getenv("WORK"), &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	ts.Check(err)
}

// gitCommit commits every file of $WORK: git-commit MESSAGE. The first
// commit creates the repository, on branch main.
func gitCommit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: git-commit MESSAGE")
	}
	dir := ts.Getenv("WORK")
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	}
	ts.Check(err)
	wt, err := repo.Worktree()
	ts.Check(err)
	ts.Check(wt.AddWithOptions(&git.AddOptions{All: true}))
	sig := &object.Signature{Name: "plinth test", Email: "test@example.invalid", When: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	_, err = wt.Commit(args[0], &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	ts.Check(err)
}

// gitTag tags HEAD: git-tag NAME.
func gitTag(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: git-tag NAME")
	}
	repo, err := git.PlainOpen(ts.Getenv("WORK"))
	ts.Check(err)
	head, err := repo.Head()
	ts.Check(err)
	_, err = repo.CreateTag(args[0], head.Hash(), nil)
	ts.Check(err)
}

// gitBranch creates a branch at HEAD and checks it out, keeping the
// working tree: git-branch NAME.
func gitBranch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: git-branch NAME")
	}
	repo, err := git.PlainOpen(ts.Getenv("WORK"))
	ts.Check(err)
	wt, err := repo.Worktree()
	ts.Check(err)
	ts.Check(wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(args[0]), Create: true, Keep: true}))
}

// TestApplyScript runs testdata/apply/*.txtar against a real API server
// started for them (lib/kubetest), its kubeconfig in $KUBECONFIG.
func TestApplyScript(t *testing.T) {
	cluster, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Error(err)
		}
	})
	kubeconfig := cluster.Kubeconfig(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/apply",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			env.Setenv("KUBECONFIG", kubeconfig)
			env.Setenv("PLINTH_CACHE_DIR", filepath.Join(env.WorkDir, ".cache"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":         exitCode,
			"kube-edit":        kubeEdit(cluster, "ConfigMap", false),
			"kube-edit-secret": kubeEdit(cluster, "Secret", true),
			"kube-crd":         kubeCRD(cluster),
			"kube-environment": kubeEnvironment(cluster),
			"wait-condition":   waitCondition(cluster),
			"kube-value":       kubeValue(cluster),
			"kube-inventory":   kubeInventory(cluster),
			// kube-share-cluster ENV...: the scripts share one API server,
			// whose marker lists their environments (lib/clustermark).
			"kube-share-cluster": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) == 0 {
					ts.Fatalf("usage: kube-share-cluster ENV...")
				}
				ts.Check(cluster.Share(context.Background(), args...))
			},
			"git-commit":   gitCommit,
			"age-keygen":   ageKeygen,
			"sops-encrypt": sopsEncrypt,
			"kube-secret":  kubeSecret(cluster),
		},
	})
}

// kubeEdit changes one key of a ConfigMap or Secret as kubectl edit
// would (an update by the field manager "kubectl-edit"):
// kube-edit NAMESPACE NAME KEY VALUE.
func kubeEdit(cluster *kubetest.Cluster, kind string, secret bool) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 4 {
			ts.Fatalf("usage: kube-edit NAMESPACE NAME KEY VALUE")
		}
		c, err := client.New(cluster.Config(), client.Options{})
		ts.Check(err)
		ctx := context.Background()
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind(kind)
		ts.Check(c.Get(ctx, client.ObjectKey{Namespace: args[0], Name: args[1]}, o))
		value := args[3]
		if secret {
			value = base64.StdEncoding.EncodeToString([]byte(value))
		}
		ts.Check(unstructured.SetNestedField(o.Object, value, "data", args[2]))
		ts.Check(c.Update(ctx, o, client.FieldOwner("kubectl-edit")))
	}
}

// kubeCRD installs the Environment CRD (generated by make generate) and
// waits until it is served: kube-crd.
func kubeCRD(cluster *kubetest.Cluster) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		paths, _ := filepath.Glob("../../overlays/plinth-controller/crd/*.yaml")
		more, _ := filepath.Glob("../../reconciler/config/crd/*.yaml")
		paths = append(paths, more...)
		if len(paths) == 0 {
			ts.Fatalf("the Environment CRD is missing: run make generate")
		}
		data, err := os.ReadFile(paths[0])
		ts.Check(err)
		crd := &unstructured.Unstructured{}
		ts.Check(yaml.Unmarshal(data, &crd.Object))
		c, err := client.New(cluster.Config(), client.Options{})
		ts.Check(err)
		ctx := context.Background()
		if err := c.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
			ts.Fatalf("creating the CRD: %v", err)
		}
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("plinth.dev/v1alpha1")
		list.SetKind("EnvironmentList")
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if c2, err := client.New(cluster.Config(), client.Options{}); err == nil && c2.List(ctx, list) == nil {
				return
			}
		}
		ts.Fatalf("the Environment CRD is not served")
	}
}

// kubeEnvironment creates an Environment following branch main of the
// script's own repository (file://$WORK): kube-environment NAMESPACE NAME ENV.
func kubeEnvironment(cluster *kubetest.Cluster) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: kube-environment NAMESPACE NAME ENV")
		}
		e := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "plinth.dev/v1alpha1", "kind": "Environment",
			"metadata": map[string]any{"namespace": args[0], "name": args[1]},
			"spec": map[string]any{
				"git":         map[string]any{"url": "file://" + ts.Getenv("WORK"), "ref": map[string]any{"branch": "main"}},
				"environment": args[2], "interval": "2s", "driftInterval": "5s",
			},
		}}
		c, err := client.New(cluster.Config(), client.Options{})
		ts.Check(err)
		ts.Check(c.Create(context.Background(), e))
	}
}

// waitReady waits for an Environment's Ready condition to be True:
// wait-ready NAMESPACE NAME TIMEOUT.
// waitCondition waits until an Environment's condition has a status and
// prints its reason and message:
// wait-condition NAMESPACE NAME TYPE=STATUS TIMEOUT, e.g. Ready=True.
func waitCondition(cluster *kubetest.Cluster) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		typ, want, ok := strings.Cut(args[min(2, len(args)-1)], "=")
		if neg || len(args) != 4 || !ok {
			ts.Fatalf("usage: wait-condition NAMESPACE NAME TYPE=STATUS TIMEOUT")
		}
		timeout, err := time.ParseDuration(args[3])
		ts.Check(err)
		c, err := client.New(cluster.Config(), client.Options{})
		ts.Check(err)
		e := &unstructured.Unstructured{}
		e.SetAPIVersion("plinth.dev/v1alpha1")
		e.SetKind("Environment")
		for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if c.Get(context.Background(), client.ObjectKey{Namespace: args[0], Name: args[1]}, e) != nil {
				continue
			}
			conds, _, _ := unstructured.NestedSlice(e.Object, "status", "conditions")
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == typ && m["status"] == want {
					fmt.Fprintf(ts.Stdout(), "%s: %s\n", m["reason"], m["message"])
					return
				}
			}
		}
		status, _ := json.MarshalIndent(e.Object["status"], "", "  ")
		ts.Fatalf("Environment %s/%s: no %s=%s within %s; status:\n%s", args[0], args[1], typ, want, timeout, status)
	}
}

// kubeInventory prints an environment's inventory ConfigMap: its resource
// version (which any write changes) and entries. kube-inventory ENV.
func kubeInventory(cluster *kubetest.Cluster) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: [!] kube-inventory ENV")
		}
		c, err := client.New(cluster.Config(), client.Options{})
		ts.Check(err)
		cm := &unstructured.Unstructured{}
		cm.SetAPIVersion("v1")
		cm.SetKind("ConfigMap")
		err = c.Get(context.Background(), client.ObjectKey{Namespace: inventory.Namespace, Name: inventory.Name(args[0])}, cm)
		if neg {
			if !apierrors.IsNotFound(err) {
				ts.Fatalf("environment %s has an inventory (or reading it failed: %v)", args[0], err)
			}
			return
		}
		ts.Check(err)
		data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
		fmt.Fprintf(ts.Stdout(), "resourceVersion %s\n", cm.GetResourceVersion())
		for _, k := range slices.Sorted(maps.Keys(data)) {
			fmt.Fprintf(ts.Stdout(), "%s: %s\n", k, data[k])
		}
	}
}

// kubeValue prints a ConfigMap's value: kube-value NAMESPACE NAME KEY;
// with !, the ConfigMap must not exist.
func kubeValue(cluster *kubetest.Cluster) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: [!] kube-value NAMESPACE NAME KEY")
		}
		c, err := client.New(cluster.Config(), client.Options{})
		ts.Check(err)
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind("ConfigMap")
		err = c.Get(context.Background(), client.ObjectKey{Namespace: args[0], Name: args[1]}, o)
		if neg {
			if !apierrors.IsNotFound(err) {
				ts.Fatalf("ConfigMap %s/%s exists (or reading it failed: %v)", args[0], args[1], err)
			}
			return
		}
		ts.Check(err)
		v, _, _ := unstructured.NestedString(o.Object, "data", args[2])
		fmt.Fprintln(ts.Stdout(), v)
	}
}

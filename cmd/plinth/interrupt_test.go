package main

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptedRender sends SIGINT and SIGTERM to a real plinth render
// (the test binary as "plinth", which testscript.Main puts on $PATH) while
// its sandbox child is busy, and checks the exit status (128 + the signal),
// the one message, and that the previous output is exactly as it was.
//
// The child is made to wait, not to be slow: --lock names a FIFO, whose
// open blocks until a writer comes. The test opens the FIFO for writing
// only to learn that the child has reached it, and keeps it open, so the
// child never reads a lock and never renders.
func TestInterruptedRender(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{
		{syscall.SIGINT, "SIGINT", 130},
		{syscall.SIGTERM, "SIGTERM", 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{
				"environments/lab/env.cue":     "package plinth\n\ncluster: version: \"1.34.4\"\nstorage: default: \"local\"\n",
				"environments/lab/tenants.cue": "package plinth\n\ntenants: risk: {quota: {cpu: \"8\", memory: \"32Gi\"}, owners: [\"group:risk-ds\"]}\n",
			})
			env := append(os.Environ(), "PLINTH_CACHE_DIR="+filepath.Join(root, ".cache"))
			render := func(args ...string) *exec.Cmd {
				cmd := exec.Command("plinth", append([]string{"render", "--root", root}, args...)...)
				cmd.Env = env
				return cmd
			}
			if out, err := render().CombinedOutput(); err != nil {
				t.Fatalf("first render: %v\n%s", err, out)
			}
			deploy := filepath.Join(root, "deploy")
			before := readTree(t, deploy)
			if _, ok := before["lab/tenants.yaml"]; !ok {
				t.Fatalf("first render wrote %v", slices.Sorted(maps.Keys(before)))
			}
			// A change the interrupted render must not write.
			writeFiles(t, root, map[string]string{
				"environments/lab/tenants.cue": "package plinth\n\ntenants: risk: {quota: {cpu: \"16\", memory: \"32Gi\"}, owners: [\"group:risk-ds\"]}\n",
			})

			fifo := filepath.Join(t.TempDir(), "plinth.lock")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := render("--lock", fifo)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { cmd.Process.Kill() })

			// Wait for the child to open the lock: until then, a
			// non-blocking open for writing fails with ENXIO.
			var writer int
			for deadline := time.Now().Add(2 * time.Minute); ; {
				fd, err := syscall.Open(fifo, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
				if err == nil {
					writer = fd
					break
				}
				if !errors.Is(err, syscall.ENXIO) {
					t.Fatal(err)
				}
				select {
				case err := <-exited:
					t.Fatalf("render ended before it read the lock: %v\n%s", err, stderr.String())
				case <-time.After(10 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("render never opened the lock\n%s", stderr.String())
				}
			}
			defer syscall.Close(writer)

			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := <-exited
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != tc.code {
				t.Fatalf("render exited with %v, want exit status %d\n%s", err, tc.code, stderr.String())
			}
			line := regexp.MustCompile(`(?m)^plinth: interrupted \(` + tc.name + `\)$`)
			if n := len(line.FindAllString(stderr.String(), -1)); n != 1 {
				t.Errorf("stderr has %d lines %q, want 1:\n%s", n, line, stderr.String())
			}
			if strings.Contains(stderr.String(), "context canceled") || strings.Contains(stderr.String(), "crashed") {
				t.Errorf("stderr:\n%s", stderr.String())
			}

			after := readTree(t, deploy)
			if !maps.Equal(before, after) {
				t.Errorf("deploy/ changed: before %v, after %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
			}
		})
	}
}

// writeFiles writes files (slash-separated names) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree returns every file and directory under dir, hidden ones (a
// stray .lab.new-*) included: file contents by slash-separated path,
// directories with a trailing slash.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			tree[rel+"/"] = ""
			return nil
		}
		data, err := os.ReadFile(p)
		tree[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain serves the handlers below when the test binary runs as a
// sandboxed child of one of the tests.
func TestMain(m *testing.M) {
	Serve(map[string]Handler{
		"double": func(_ context.Context, in json.RawMessage) (any, error) {
			var n int
			if err := json.Unmarshal(in, &n); err != nil {
				return nil, err
			}
			return 2 * n, nil
		},
		"fail": func(context.Context, json.RawMessage) (any, error) {
			return nil, errors.New("environment prod: cluster.version: field is required")
		},
		"hang": func(context.Context, json.RawMessage) (any, error) {
			select {}
		},
		"allocate": func(context.Context, json.RawMessage) (any, error) {
			var keep [][]byte
			for {
				keep = append(keep, make([]byte, 1<<20))
				for i := range keep[len(keep)-1] {
					keep[len(keep)-1][i] = 1
				}
			}
		},
		"recurse": func(context.Context, json.RawMessage) (any, error) {
			return recurse(0), nil
		},
		// interrupted is what Ctrl-C does to a child: SIGINT reaches the
		// whole process group.
		"interrupted": func(context.Context, json.RawMessage) (any, error) {
			syscall.Kill(os.Getpid(), syscall.SIGINT)
			select {}
		},
	})
	os.Exit(m.Run())
}

//go:noinline
func recurse(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	//lint:ignore SA5007 the test overflows the stack on purpose
	return recurse(n+1) + int(pad[0])
}

var limits = Limits{Timeout: 20 * time.Second, Memory: 256 << 20}

func TestRunReturnsResult(t *testing.T) {
	var out int
	if err := Run(context.Background(), "double", limits, 21, &out); err != nil {
		t.Fatal(err)
	}
	if out != 42 {
		t.Fatalf("got %d, want 42", out)
	}
}

func TestRunReturnsHandlerError(t *testing.T) {
	err := Run(context.Background(), "fail", limits, nil, nil)
	var budget *BudgetError
	if err == nil || errors.As(err, &budget) || err.Error() != "environment prod: cluster.version: field is required" {
		t.Fatalf("got %v, want the handler's error as is", err)
	}
}

func TestRunStopsAtBudget(t *testing.T) {
	for _, c := range []struct {
		handler string
		limits  Limits
		want    string
	}{
		{"hang", Limits{Timeout: 500 * time.Millisecond, Memory: limits.Memory}, "evaluation exceeded its time budget of 500ms"},
		{"allocate", limits, "evaluation exceeded its memory budget of 256 MiB"},
		{"recurse", limits, "evaluation crashed: runtime: goroutine stack exceeds 67108864-byte limit"},
	} {
		t.Run(c.handler, func(t *testing.T) {
			err := Run(context.Background(), c.handler, c.limits, nil, nil)
			var budget *BudgetError
			if !errors.As(err, &budget) {
				t.Fatalf("got %v, want a *BudgetError", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %q, want %q", err, c.want)
			}
		})
	}
}

// TestRunBelowMinimum: a budget too small for any child is said as such,
// without starting one (it would die of a stack overflow).
func TestRunBelowMinimum(t *testing.T) {
	err := Run(context.Background(), "double", Limits{Timeout: limits.Timeout, Memory: 1000}, 21, nil)
	var budget *BudgetError
	if !errors.As(err, &budget) || err.Error() != "memory budget of 1000 bytes is below the 64 MiB a child needs to start: raise it (the default is 2 GiB)" {
		t.Fatalf("got %v", err)
	}
}

func TestRunHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	if err := Run(ctx, "hang", limits, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestRunReturnsTheCause: a context cancelled with a cause (plinth's
// interrupt) makes Run return that cause, not a budget error.
func TestRunReturnsTheCause(t *testing.T) {
	cause := errors.New("interrupted (SIGINT)")
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel(cause) }()
	if err := Run(ctx, "hang", limits, nil, nil); err != cause {
		t.Fatalf("got %v, want the cause %v", err, cause)
	}
}

// TestRunChildInterrupted: a child ended by SIGINT is no budget exceeded.
func TestRunChildInterrupted(t *testing.T) {
	err := Run(context.Background(), "interrupted", limits, nil, nil)
	var budget *BudgetError
	if err == nil || errors.As(err, &budget) || err.Error() != "sandbox: evaluation stopped by a signal (interrupt)" {
		t.Fatalf("got %v, want an interrupt that is no *BudgetError", err)
	}
}

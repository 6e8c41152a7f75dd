package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Environment variables that turn the binary into a sandboxed child.
const (
	handlerEnv = "PLINTH_SANDBOX_HANDLER"
	memoryEnv  = "PLINTH_SANDBOX_MEMORY"
)

// exitMemory is the child's exit code when it exceeds its memory budget.
const exitMemory = 86

// Limits bound one evaluation.
type Limits struct {
	// Timeout is the wall-clock budget; the child is killed after it.
	Timeout time.Duration
	// Memory is the budget in bytes for the child's Go memory (heap, stacks, runtime).
	Memory int64
}

// MinMemory is the smallest memory budget a child can start with: below
// it, the Go runtime and CUE fail before evaluating anything, as a stack
// overflow say, which would read as hostile input.
const MinMemory = 64 << 20

// DefaultLimits are generous for any real environment (prod evaluates in
// well under a second and 100 MiB) and stop runaway input quickly.
func DefaultLimits() Limits {
	return Limits{Timeout: 30 * time.Second, Memory: 2 << 30}
}

// Handler evaluates one request inside the child.
type Handler func(ctx context.Context, input json.RawMessage) (any, error)

// BudgetError reports an evaluation stopped by its limits or killed by a
// fatal runtime error (a stack overflow, say).
type BudgetError struct {
	Reason string
}

func (e *BudgetError) Error() string { return e.Reason }

// Serve runs the handler the parent asked for, when this process is a
// sandboxed child, and exits; otherwise it returns at once.
func Serve(handlers map[string]Handler) {
	name := os.Getenv(handlerEnv)
	if name == "" {
		return
	}
	os.Exit(serve(handlers[name], os.Stdin, os.Stdout))
}

func serve(h Handler, in io.Reader, out io.Writer) int {
	if h == nil {
		fmt.Fprintf(os.Stderr, "sandbox: no handler %q\n", os.Getenv(handlerEnv))
		return 2
	}
	if limit, err := strconv.ParseInt(os.Getenv(memoryEnv), 10, 64); err == nil && limit > 0 {
		watchMemory(limit)
	}
	var input json.RawMessage
	if err := json.NewDecoder(in).Decode(&input); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: reading input: %v\n", err)
		return 2
	}
	result, err := h(context.Background(), input)
	reply := reply{Result: result}
	if err != nil {
		reply.Error = err.Error()
	}
	if err := json.NewEncoder(out).Encode(reply); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: writing result: %v\n", err)
		return 2
	}
	return 0
}

type reply struct {
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// watchMemory makes the Go runtime collect harder near the limit and ends
// the process once its memory passes the limit anyway.
func watchMemory(limit int64) {
	debug.SetMemoryLimit(limit * 9 / 10)
	// A deep recursion then fails at a quarter of the budget instead of Go's 1 GB default.
	debug.SetMaxStack(int(min(limit/4, 1<<30)))
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	go func() {
		for range time.Tick(5 * time.Millisecond) {
			metrics.Read(sample)
			if int64(sample[0].Value.Uint64()) > limit {
				fmt.Fprintf(os.Stderr, "sandbox: memory budget of %s exceeded\n", formatBytes(limit))
				os.Exit(exitMemory)
			}
		}
	}()
}

// Run evaluates input with the named handler in a child process bounded by
// limits and decodes the handler's result into result. An error from the
// handler comes back as an error; a child stopped by its limits or a fatal
// runtime error comes back as a *BudgetError. When ctx is cancelled the
// child is killed and Run returns ctx's cause (context.Cause): an
// interrupt, say, and not a budget exceeded.
func Run(ctx context.Context, handler string, limits Limits, input, result any) error {
	if limits.Memory < MinMemory {
		return &BudgetError{Reason: fmt.Sprintf("memory budget of %s is below the %s a child needs to start: raise it (the default is %s)",
			formatBytes(limits.Memory), formatBytes(MinMemory), formatBytes(DefaultLimits().Memory))}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("sandbox: locating the plinth binary: %w", err)
	}
	in, err := json.Marshal(input)
	if err != nil {
		return fmt.Errorf("sandbox: encoding input: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, self)
	cmd.Args = []string{os.Args[0]}
	cmd.Env = append(os.Environ(), handlerEnv+"="+handler, memoryEnv+"="+strconv.FormatInt(limits.Memory, 10))
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()

	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return &BudgetError{Reason: fmt.Sprintf("evaluation exceeded its time budget of %s", limits.Timeout)}
	case ctx.Err() != nil:
		return context.Cause(ctx) // why the caller gave up, e.g. an interrupt
	}
	var exitErr *exec.ExitError
	if errors.As(runErr, &exitErr) {
		if exitErr.ExitCode() == exitMemory {
			return &BudgetError{Reason: fmt.Sprintf("evaluation exceeded its memory budget of %s", formatBytes(limits.Memory))}
		}
		ws, ok := exitErr.Sys().(syscall.WaitStatus)
		switch {
		case ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL:
			return &BudgetError{Reason: "evaluation was killed (out of memory?)"}
		case ok && ws.Signaled() && (ws.Signal() == syscall.SIGINT || ws.Signal() == syscall.SIGTERM || ws.Signal() == syscall.SIGHUP):
			// Ctrl-C reaches the whole process group: an interrupt, not
			// a fault of the input.
			return fmt.Errorf("sandbox: evaluation stopped by a signal (%s)", ws.Signal())
		}
		return &BudgetError{Reason: "evaluation crashed: " + crashReason(stderr.String())}
	}
	if runErr != nil {
		return fmt.Errorf("sandbox: running %s: %w", self, runErr)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return fmt.Errorf("sandbox: reading result: %w", err)
	}
	if r.Error != "" {
		return errors.New(r.Error)
	}
	if result == nil || len(r.Result) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result, result)
}

// crashReason picks the line of a Go crash that says what happened, e.g.
// "runtime: goroutine stack exceeds 268435456-byte limit".
func crashReason(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "runtime:") || strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "sandbox:") {
			return line
		}
	}
	if s := strings.TrimSpace(stderr); s != "" {
		return strings.SplitN(s, "\n", 2)[0]
	}
	return "no output"
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// limitedWriter keeps the first n bytes a child writes to stderr.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/platform"
)

// Exit codes shared by every command.
const (
	exitOK = 0
	// exitFindings: the command ran and found problems (invalid environment, a diff, drift).
	exitFindings = 1
	// exitError: the command could not do its work (usage, missing input, budget exceeded).
	exitError = 2
)

// exitError carries an exit code through cobra; its message is already printed.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Streams are where a command writes: data to Out, messages to Err.
type Streams struct {
	Out io.Writer
	Err io.Writer
}

// Main runs plinth with os.Args and returns the process exit code.
// SIGINT and SIGTERM cancel the command's context (children in the sandbox
// are killed, outputs are left as they were); the command then ends with
// 128 + the signal's number (130, 143), whatever its own outcome.
func Main() int {
	pipeline.Serve()
	ctx, stop := notifyInterrupt(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], Streams{Out: os.Stdout, Err: os.Stderr})
}

// Run executes one plinth command line and returns its exit code. When
// ctx was cancelled by an interrupt (its cause is an *Interrupted), Run
// prints that instead of the command's error and returns its exit code,
// unless the command stops on signals (the controller) and stopped well.
func Run(ctx context.Context, args []string, s Streams) int {
	root := NewRootCommand(s)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var intr *Interrupted
	if errors.As(context.Cause(ctx), &intr) && !(err == nil && cmd != nil && cmd.Annotations[annotationSignals] == signalsStop) {
		fmt.Fprintf(s.Err, "plinth: %v\n", intr)
		return intr.ExitCode()
	}
	var ec exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return ec.code
	default:
		fmt.Fprintf(s.Err, "plinth: %v\n", err)
		return exitError
	}
}

// annotationSignals on a command set to signalsStop says that a signal is
// how it ends normally (a server): stopped by one without an error, it
// exits 0.
const (
	annotationSignals = "plinth.dev/signals"
	signalsStop       = "stop"
)

// Interrupted is the cause (context.Cause) of a command's context when a
// signal interrupted it. It wraps context.Canceled.
type Interrupted struct {
	Signal syscall.Signal
}

func (e *Interrupted) Error() string { return "interrupted (" + signalName(e.Signal) + ")" }

func (e *Interrupted) Unwrap() error { return context.Canceled }

// ExitCode is the shell's status for a process ended by the signal.
func (e *Interrupted) ExitCode() int { return 128 + int(e.Signal) }

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// interrupted reports whether err only says that ctx was interrupted
// (context.Canceled, or the *Interrupted cause, in its chain while ctx's
// cause is an *Interrupted): a command need not print it, Run says it once.
func interrupted(ctx context.Context, err error) bool {
	var intr *Interrupted
	return errors.Is(err, context.Canceled) && errors.As(context.Cause(ctx), &intr)
}

// notifyInterrupt returns a context cancelled, with an *Interrupted as its
// cause, by the first of the signals to arrive. Later signals are caught
// too, until stop: the command winds down as after the first (a rename in
// progress completes, no half-written output).
func notifyInterrupt(parent context.Context, signals ...os.Signal) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, signals...)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			if n, ok := sig.(syscall.Signal); ok {
				cancel(&Interrupted{Signal: n})
			} else {
				cancel(context.Canceled)
			}
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// globalFlags are the flags every command shares.
type globalFlags struct {
	root  string
	quiet bool
}

// NewRootCommand builds the plinth command tree.
func NewRootCommand(s Streams) *cobra.Command {
	g := &globalFlags{}
	cmd := &cobra.Command{
		Use:   "plinth",
		Short: "Run an on-prem ML platform the GitOps way",
		Long: `plinth validates, renders, diffs and applies the environments of an ML
platform (Kubernetes or OKD, Rancher, Kubeflow, monitoring, Nexus, GPUs,
storage) described in CUE under environments/<env>/.

Exit status: 0 success, 1 findings (an invalid environment, a diff, drift),
2 the command could not run; 130 or 143 when interrupted by SIGINT or
SIGTERM (outputs are left as they were).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(s.Out)
	cmd.SetErr(s.Err)
	cmd.PersistentFlags().StringVar(&g.root, "root", "", "repository root holding environments/ (default: the nearest parent directory that has one)")
	cmd.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "no progress on a terminal (progress is never shown when stderr is not a terminal)")
	setVersionFlag(cmd)
	cmd.AddCommand(newVetCommand(g, s), newVendorCommand(g, s), newRenderCommand(g, s), newImagesCommand(g, s), newMirrorCommand(g, s), newDiffCommand(g, s), newApplyCommand(g, s), newDriftCommand(g, s), newUpgradeCommand(g, s), newControllerCommand(g, s), newInitCommand(g, s), newVersionCommand(s))
	return cmd
}

// repoRoot returns --root, or the nearest directory from the working
// directory up that holds an environments/ directory, or ".".
func (g *globalFlags) repoRoot() (string, error) {
	if g.root != "" {
		return filepath.Abs(g.root)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(filepath.Join(dir, platform.EnvironmentsDir)); err == nil && fi.IsDir() {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return wd, nil
		}
	}
}

// environments resolves the ENV arguments of a command: all environments
// of the repository when there are none.
func (g *globalFlags) environments(args []string) ([]platform.Environment, error) {
	root, err := g.repoRoot()
	if err != nil {
		return nil, err
	}
	if err := g.checkRepo(root); err != nil {
		return nil, err
	}
	if args, err = expandEnvironmentsDir(root, args); err != nil {
		return nil, err
	}
	if len(args) == 0 {
		if args, err = platform.List(root); err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("no environments under %s", filepath.Join(root, platform.EnvironmentsDir))
		}
	}
	var envs []platform.Environment
	var errs []error
	for _, a := range args {
		env, err := platform.Resolve(root, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		envs = append(envs, env)
	}
	return envs, errors.Join(errs...)
}

// outputFormat is a validated -o value.
type outputFormat struct {
	value   string
	allowed []string
}

func (o *outputFormat) String() string { return o.value }
func (o *outputFormat) Type() string   { return "format" }
func (o *outputFormat) Set(v string) error {
	for _, a := range o.allowed {
		if v == a {
			o.value = v
			return nil
		}
	}
	return fmt.Errorf("unknown output format %q, want one of %v", v, o.allowed)
}

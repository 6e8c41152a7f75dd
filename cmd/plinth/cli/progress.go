package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress shows what a long command is doing, on a terminal only: one
// status line, redrawn in place, with a spinner, the steps under way and
// the time the oldest has taken; a line with its duration when a step
// ends. Pipes, files and CI logs get none of it (no spinner, no carriage
// returns): a nil *progress does nothing, and that is what
// globalFlags.progress returns for them and for -q.
//
// Everything else the command writes to stderr goes through Writer, which
// takes the status line away before the text and draws it again after.
type progress struct {
	out   io.Writer
	width int // of the terminal; the status line is cut to fit
	now   func() time.Time
	tick  time.Duration // how often the spinner turns; 0: never (tests)

	mu     sync.Mutex
	steps  []*progressStep
	drawn  bool // a status line is on screen
	frame  int
	ticker chan struct{} // closed to stop the redraw loop
}

type progressStep struct {
	name  string
	start time.Time
}

// progressTick is how often the spinner turns.
const progressTick = 120 * time.Millisecond

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// newProgress returns a progress drawing on w, a terminal width columns
// wide (0: 80).
func newProgress(w io.Writer, width int) *progress {
	if width <= 0 {
		width = 80
	}
	return &progress{out: w, width: width, now: time.Now, tick: progressTick}
}

// terminalWidth says whether w is a terminal (and TERM is not "dumb") and,
// if so, its width.
func terminalWidth(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("TERM") == "dumb" {
		return 0, false
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		width = 0
	}
	return width, true
}

// progress returns the command's progress (nil unless stderr is a
// terminal and -q is not given) and s with Err going through it. The
// caller closes it.
func (g *globalFlags) progress(s Streams) (*progress, Streams) {
	if g.quiet {
		return nil, s
	}
	width, ok := terminalWidth(s.Err)
	if !ok {
		return nil, s
	}
	p := newProgress(s.Err, width)
	return p, Streams{Out: s.Out, Err: p.Writer()}
}

// Start shows a step under way; the returned func ends it, printing its
// name and duration.
func (p *progress) Start(name string) (done func()) {
	if p == nil {
		return func() {}
	}
	st := &progressStep{name: name, start: p.now()}
	p.mu.Lock()
	p.steps = append(p.steps, st)
	if p.ticker == nil && p.tick > 0 {
		p.ticker = make(chan struct{})
		go p.loop(p.ticker)
	}
	p.draw()
	p.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { p.end(st) }) }
}

func (p *progress) end(st *progressStep) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.steps {
		if s == st {
			p.steps = append(p.steps[:i], p.steps[i+1:]...)
			break
		}
	}
	p.clear()
	fmt.Fprintf(p.out, "%s: %s\n", st.name, formatDuration(p.now().Sub(st.start)))
	if len(p.steps) == 0 {
		p.stopLoop()
		return
	}
	p.draw()
}

// Close takes the status line away and stops redrawing it.
func (p *progress) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps = nil
	p.clear()
	p.stopLoop()
}

// Writer returns a writer to the terminal for the command's other
// messages, which keeps them off the status line.
func (p *progress) Writer() io.Writer { return progressWriter{p} }

type progressWriter struct{ p *progress }

func (w progressWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	n, err := p.out.Write(b)
	if bytes.HasSuffix(b, []byte("\n")) && len(p.steps) > 0 {
		p.draw()
	}
	return n, err
}

func (p *progress) loop(stop chan struct{}) {
	t := time.NewTicker(p.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			if len(p.steps) > 0 {
				p.frame++
				p.draw()
			}
			p.mu.Unlock()
		}
	}
}

func (p *progress) stopLoop() {
	if p.ticker != nil {
		close(p.ticker)
		p.ticker = nil
	}
}

// draw writes the status line: spinner, steps, the oldest step's time.
// p.mu is held.
func (p *progress) draw() {
	if len(p.steps) == 0 {
		return
	}
	names := make([]string, len(p.steps))
	for i, s := range p.steps {
		names[i] = s.name
	}
	elapsed := " " + formatDuration(p.now().Sub(p.steps[0].start))
	line := spinner[p.frame%len(spinner)] + " " + strings.Join(names, ", ")
	if max := p.width - 1 - len([]rune(elapsed)); max > 10 && len([]rune(line)) > max {
		line = string([]rune(line)[:max-1]) + "…"
	}
	fmt.Fprintf(p.out, "\r\x1b[K%s%s", line, elapsed)
	p.drawn = true
}

// clear takes the status line away. p.mu is held.
func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.drawn = false
	}
}

// formatDuration rounds to what a person reads: 0.4s, 12.3s, 2m05s.
func formatDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by the step it is given each time it is read.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

// On a terminal: a status line redrawn in place while steps run, a line
// with the duration when each ends, other messages above the status line.
func TestProgressOnTerminal(t *testing.T) {
	var term bytes.Buffer
	p := newProgress(&term, 40)
	clock := &fakeClock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC), step: 500 * time.Millisecond}
	p.now, p.tick = clock.now, 0

	doneProd := p.Start("rendering prod")
	doneDev := p.Start("rendering dev")
	fmt.Fprintf(p.Writer(), "warning: prod: deprecated chart\n")
	doneDev()
	doneDev() // a second call does nothing
	doneProd()
	p.Close()

	want := "\r\x1b[K⠋ rendering prod 0.5s" + // start prod
		"\r\x1b[K⠋ rendering prod, rendering dev 1.5s" + // start dev
		"\r\x1b[Kwarning: prod: deprecated chart\n" + // a message: line cleared, then redrawn
		"\r\x1b[K⠋ rendering prod, rendering dev 2.0s" +
		"\r\x1b[Krendering dev: 1.5s\n" + // dev ends
		"\r\x1b[K⠋ rendering prod 3.0s" +
		"\r\x1b[Krendering prod: 3.5s\n" // prod ends: no status line left
	if got := term.String(); got != want {
		t.Errorf("terminal got\n%q\nwant\n%q", got, want)
	}
}

// A status line wider than the terminal is cut: a redraw with \r must not
// wrap.
func TestProgressFitsTheTerminal(t *testing.T) {
	var term bytes.Buffer
	p := newProgress(&term, 30)
	p.now, p.tick = func() time.Time { return time.Time{} }, 0
	done := p.Start("rendering a-very-long-environment-name (base)")
	line := strings.TrimPrefix(term.String(), "\r\x1b[K")
	if n := len([]rune(line)); n > 29 {
		t.Errorf("status line of %d columns on a terminal of 30: %q", n, line)
	}
	done()
	p.Close()
}

// Not a terminal, or -q: nothing at all, and messages pass unchanged.
func TestProgressOffTerminal(t *testing.T) {
	var stderr bytes.Buffer
	for _, quiet := range []bool{false, true} {
		stderr.Reset()
		g := &globalFlags{quiet: quiet}
		p, s := g.progress(Streams{Err: &stderr})
		if p != nil {
			t.Fatalf("quiet=%v: a progress on a bytes.Buffer", quiet)
		}
		done := p.Start("rendering prod")
		fmt.Fprintln(s.Err, "rendered prod")
		done()
		p.Close()
		if got := stderr.String(); got != "rendered prod\n" {
			t.Errorf("quiet=%v: stderr %q", quiet, got)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		400 * time.Millisecond:    "0.4s",
		41200 * time.Millisecond:  "41.2s",
		125400 * time.Millisecond: "2m05s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/plinth-platform/plinth/lib/capool"
	"github.com/plinth-platform/plinth/lib/drift"
)

// Formats of a Target.
const (
	// FormatJSON is plinth's generic event (README.md, schemaVersion 1).
	FormatJSON = "json"
	// FormatSlack is a Slack incoming webhook message: text and blocks.
	FormatSlack = "slack"
	// FormatAlertmanager is a list of alerts for Alertmanager's
	// POST /api/v2/alerts.
	FormatAlertmanager = "alertmanager"
)

// Severities of an Event.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// Reasons of an Event that the package knows; others are sent as they are.
const (
	ReasonDriftDetected   = "DriftDetected"
	ReasonDriftResolved   = "DriftResolved"
	ReasonReconcileFailed = "ReconcileFailed"
	ReasonApplied         = "Applied"
)

// Defaults of a Notifier's zero fields.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultRetries  = 3
	DefaultBackoff  = time.Second
	DefaultMaxDelay = 30 * time.Second
)

// Target is one place to notify.
type Target struct {
	// Name is shown in errors and logs.
	Name string
	// URL is the webhook's http or https URL. An Alertmanager URL without
	// a path ("http://alertmanager:9093") gets /api/v2/alerts.
	URL string
	// Format is FormatJSON, FormatSlack or FormatAlertmanager.
	Format string
	// CAFile names a PEM file of CA certificates trusted for this target
	// on top of the system's roots (a webhook behind the bank's CA); CA
	// holds such certificates inline, for a controller whose notify.yaml
	// is a Secret (no file to mount). Either is read at every Send, so a
	// rotated CA is picked up; Validate reads them at once.
	CAFile string
	CA     string
}

// Validate checks t as Send would before any request: its URL, format
// and CA. Its errors never quote the URL.
func (t Target) Validate() error {
	u, err := targetURL(t)
	if err != nil {
		return err
	}
	if _, err := t.roots(); err != nil {
		return &Error{Target: t.Name, Endpoint: endpoint(u), Err: err}
	}
	return nil
}

// roots is the pool of the target's CA; nil without one (the system's
// roots, or the Notifier client's own settings).
func (t Target) roots() (*x509.CertPool, error) {
	switch {
	case t.CAFile != "" && t.CA != "":
		return nil, errors.New("give ca or caFile, not both")
	case t.CAFile != "":
		return capool.FromFile(t.CAFile)
	case t.CA != "":
		p, err := capool.FromPEM([]byte(t.CA))
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		return p, nil
	}
	return nil, nil
}

// clientFor is the Notifier's client, trusting t's CA when it has one.
// The second result releases the connections of a client made here.
func (n *Notifier) clientFor(t Target) (*http.Client, func(), error) {
	pool, err := t.roots()
	if err != nil || pool == nil {
		return n.client(), func() {}, err
	}
	base := n.client()
	tr, err := capool.Transport(base.Transport, pool)
	if err != nil {
		return nil, nil, err
	}
	c := *base
	c.Transport = tr
	return &c, tr.CloseIdleConnections, nil
}

// Event is what happened.
type Event struct {
	Environment string
	// Severity is SeverityInfo, SeverityWarning or SeverityError; when
	// empty, warning for DriftDetected, error for ReconcileFailed, info
	// otherwise.
	Severity string
	// Reason is one of the Reason constants, or another CamelCase word.
	Reason string
	// Message is one line; longer text is cut to 2,000 characters.
	Message string
	// Revision is the git commit, if known.
	Revision string
	// Drift is set for drift events.
	Drift *drift.Summary
	// Time is when it happened; the time of sending when zero.
	Time time.Time
	// URL links to the drift report page, if served; only an absolute
	// http(s) URL is sent.
	URL string
}

// Notifier sends events to targets. Its zero value is ready to use, and it
// is safe for concurrent use.
type Notifier struct {
	// Client sends the requests. When nil, a client with a 10 s timeout
	// that does not follow redirects (a 3xx is a failure).
	Client *http.Client
	// Retries is how many times a failed request is tried again: 3 when
	// zero, none when negative.
	Retries int
	// Backoff is the wait before the first retry, doubled before each
	// next one and jittered (between half and all of it): 1 s when zero.
	Backoff time.Duration
	// MaxDelay caps every wait between attempts, a server's Retry-After
	// included: 30 s when zero.
	MaxDelay time.Duration

	// sleep waits d or until ctx is done; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

var defaultClient = &http.Client{
	Timeout: DefaultTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// Error is a failed delivery to one target. Its text, and every error it
// wraps, holds no part of the target's URL but the scheme and host.
type Error struct {
	// Target is the target's Name.
	Target string
	// Endpoint is the scheme and host of the target's URL
	// ("https://hooks.slack.com").
	Endpoint string
	// Attempts is the number of requests made.
	Attempts int
	// Status is the HTTP status code of the last response; 0 when there
	// was none.
	Status int
	// Err is why: the last attempt's failure, or the context's error when
	// it ended the retries.
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("notify target %q", e.Target)
	if e.Endpoint != "" {
		s += " (" + e.Endpoint + ")"
	}
	s += ": " + e.Err.Error()
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// statusError is a response with a status other than 2xx.
type statusError struct {
	code   int
	status string
	body   string // the start of the response body, cleaned and scrubbed
}

func (e *statusError) Error() string {
	if e.body == "" {
		return "status " + e.status
	}
	return "status " + e.status + ": " + e.body
}

// Send sends e to t. It retries network errors, 429 and 5xx responses, up
// to n.Retries times, waiting the server's Retry-After when it gives one
// and the backoff otherwise, each wait capped at n.MaxDelay; it stops at
// once on any other status and when ctx is done. The error is an *Error
// holding the last failure.
func (n *Notifier) Send(ctx context.Context, t Target, e Event) error {
	u, err := targetURL(t)
	if err != nil {
		return err
	}
	body, err := encode(t.Format, e, time.Now())
	if err != nil {
		return &Error{Target: t.Name, Endpoint: endpoint(u), Err: err}
	}
	s := newScrubber(t.URL, u)
	fail := &Error{Target: t.Name, Endpoint: endpoint(u)}
	client, release, err := n.clientFor(t)
	if err != nil {
		fail.Err = err
		return fail
	}
	defer release()
	backoff := n.backoff()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			fail.Err = joinLast(err, fail.Err)
			return fail
		}
		fail.Attempts++
		retryAfter, retry, err := post(ctx, client, u, body, s)
		if err == nil {
			return nil
		}
		se := (*statusError)(nil)
		isStatus := errors.As(err, &se)
		if ctx.Err() != nil {
			// ctx ended: say so, with the last complete failure.
			if isStatus {
				fail.Err, fail.Status = err, se.code
			}
			fail.Err = joinLast(ctx.Err(), fail.Err)
			return fail
		}
		fail.Err, fail.Status = err, 0
		if isStatus {
			fail.Status = se.code
		}
		if !retry || attempt >= n.retries() {
			return fail
		}
		wait := jitter(backoff)
		if retryAfter >= 0 {
			wait = retryAfter
		}
		wait = min(wait, n.maxDelay())
		backoff = min(2*backoff, n.maxDelay())
		if err := n.wait(ctx, wait); err != nil {
			fail.Err = joinLast(err, fail.Err)
			return fail
		}
	}
}

// SendAll sends e to every target concurrently and returns their errors
// joined, in the order of targets.
func (n *Notifier) SendAll(ctx context.Context, targets []Target, e Event) error {
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { errs[i] = n.Send(ctx, t, e) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// post makes one request. It returns whether a failure is worth retrying
// and the server's Retry-After, or -1 when it gave none.
func post(ctx context.Context, client *http.Client, u *url.URL, body []byte, s scrubber) (retryAfter time.Duration, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		// Only a bad method or URL fails here, and targetURL checked the URL.
		return -1, false, errors.New("cannot build request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "plinth-notify")
	resp, err := client.Do(req)
	if err != nil {
		return -1, retryable(err), s.err(err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return -1, false, nil
	}
	err = &statusError{
		code:   resp.StatusCode,
		status: resp.Status,
		body:   s.scrub(clean(string(head), 200)),
	}
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return -1, false, err
	}
	return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), true, err
}

// retryable reports whether a request that got no response may succeed
// when tried again: not when TLS verification failed.
func retryable(err error) bool {
	var cert *tls.CertificateVerificationError
	return !errors.As(err, &cert)
}

// parseRetryAfter reads a Retry-After header, delay-seconds or HTTP-date;
// -1 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return -1
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return -1
		}
		if secs > int64(24*time.Hour/time.Second) {
			return 24 * time.Hour
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// jitter returns a random duration between d/2 and d.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// joinLast wraps why retrying stopped with the last attempt's failure.
func joinLast(stop, last error) error {
	if last == nil {
		return stop
	}
	return fmt.Errorf("%w; last attempt: %w", stop, last)
}

func (n *Notifier) wait(ctx context.Context, d time.Duration) error {
	if n.sleep != nil {
		return n.sleep(ctx, d)
	}
	return sleep(ctx, d)
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (n *Notifier) client() *http.Client {
	if n.Client != nil {
		return n.Client
	}
	return defaultClient
}

func (n *Notifier) retries() int {
	switch {
	case n.Retries < 0:
		return 0
	case n.Retries == 0:
		return DefaultRetries
	}
	return n.Retries
}

func (n *Notifier) backoff() time.Duration {
	if n.Backoff <= 0 {
		return DefaultBackoff
	}
	return n.Backoff
}

func (n *Notifier) maxDelay() time.Duration {
	if n.MaxDelay <= 0 {
		return DefaultMaxDelay
	}
	return n.MaxDelay
}

// targetURL checks t and returns the URL to post to. Its errors never
// quote the URL.
func targetURL(t Target) (*url.URL, error) {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse's error quotes the whole URL: leave it out.
		ep := ""
		if err == nil && u.Host != "" {
			ep = endpoint(u)
		}
		return nil, &Error{Target: t.Name, Endpoint: ep, Err: errors.New("url is not an absolute http or https URL")}
	}
	switch t.Format {
	case FormatJSON, FormatSlack:
	case FormatAlertmanager:
		if u.Path == "" || u.Path == "/" {
			u.Path, u.RawPath = "/api/v2/alerts", ""
		}
	default:
		return nil, &Error{Target: t.Name, Endpoint: endpoint(u), Err: fmt.Errorf("unknown format %q: want json, slack or alertmanager", clean(t.Format, 40))}
	}
	return u, nil
}

// endpoint is the part of u that errors may show.
func endpoint(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

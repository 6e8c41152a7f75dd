package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/plinth-platform/plinth/lib/drift"
)

// request is what a test server received.
type request struct {
	Method, Path, ContentType string
	Body                      []byte
}

// recorder is a webhook receiver answering with the statuses given, then
// 200 for ever.
type recorder struct {
	mu       sync.Mutex
	requests []request
	statuses []int
	header   http.Header // set on every failing response
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	n := len(rec.requests)
	rec.requests = append(rec.requests, request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body})
	status := http.StatusOK
	if n < len(rec.statuses) {
		status = rec.statuses[n]
	}
	rec.mu.Unlock()
	if status != http.StatusOK {
		for k, v := range rec.header {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
}

func (rec *recorder) received() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]request(nil), rec.requests...)
}

func serve(t *testing.T, rec *recorder) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv
}

// fast is a Notifier whose waits are tiny.
func fast() *Notifier {
	return &Notifier{Backoff: time.Millisecond, MaxDelay: 5 * time.Millisecond}
}

var when = time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC)

func driftEvent() Event {
	return Event{
		Environment: "prod",
		Severity:    SeverityWarning,
		Reason:      ReasonDriftDetected,
		Message:     "4 objects differ from revision abc1234",
		Revision:    "abc1234def5678901234567890abcdef12345678",
		Drift:       &drift.Summary{Objects: 120, Drifted: 3, Missing: 1, IgnoredFields: 2},
		Time:        when,
		URL:         "https://plinth.example/drift/prod?at=1&b=2",
	}
}

// sendOne sends e to a fresh server in format and returns the one request
// it received.
func sendOne(t *testing.T, format, path string, e Event) request {
	t.Helper()
	rec := &recorder{}
	srv := serve(t, rec)
	if err := fast().Send(context.Background(), Target{Name: "t", URL: srv.URL + path, Format: format}, e); err != nil {
		t.Fatal(err)
	}
	got := rec.received()
	if len(got) != 1 {
		t.Fatalf("server received %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.ContentType != "application/json" {
		t.Errorf("request %s with Content-Type %q, want POST application/json", r.Method, r.ContentType)
	}
	return r
}

// decodeStrict decodes data into v, refusing keys v does not have.
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

func TestJSONPayload(t *testing.T) {
	r := sendOne(t, FormatJSON, "/hook", driftEvent())
	if r.Path != "/hook" {
		t.Errorf("path %q, want /hook", r.Path)
	}
	var got struct {
		SchemaVersion int            `json:"schemaVersion"`
		Environment   string         `json:"environment"`
		Severity      string         `json:"severity"`
		Reason        string         `json:"reason"`
		Message       string         `json:"message"`
		Revision      string         `json:"revision"`
		Drift         *drift.Summary `json:"drift"`
		Time          time.Time      `json:"time"`
		URL           string         `json:"url"`
	}
	decodeStrict(t, r.Body, &got)
	e := driftEvent()
	for _, c := range []struct{ field, got, want string }{
		{"environment", got.Environment, "prod"},
		{"severity", got.Severity, "warning"},
		{"reason", got.Reason, "DriftDetected"},
		{"message", got.Message, e.Message},
		{"revision", got.Revision, e.Revision},
		{"url", got.URL, e.URL},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if got.SchemaVersion != 1 {
		t.Errorf("schemaVersion = %d, want 1", got.SchemaVersion)
	}
	if got.Drift == nil || *got.Drift != *e.Drift {
		t.Errorf("drift = %+v, want %+v", got.Drift, *e.Drift)
	}
	if !got.Time.Equal(when) {
		t.Errorf("time = %v, want %v", got.Time, when)
	}
	if !bytes.Contains(r.Body, []byte(`"time":"2026-11-22T08:30:00Z"`)) {
		t.Errorf("time not RFC 3339 UTC in whole seconds: %s", r.Body)
	}

	// Optional fields are left out; the severity defaults by reason; a
	// zero time is the time of sending.
	r = sendOne(t, FormatJSON, "", Event{Environment: "dev", Reason: ReasonReconcileFailed, Message: "apply failed"})
	var m map[string]any
	decodeStrict(t, r.Body, &m)
	for _, k := range []string{"revision", "drift", "url"} {
		if _, ok := m[k]; ok {
			t.Errorf("empty %s present: %s", k, r.Body)
		}
	}
	if m["severity"] != "error" {
		t.Errorf("severity = %v, want error by default for ReconcileFailed", m["severity"])
	}
	if ts, _ := time.Parse(time.RFC3339, m["time"].(string)); time.Since(ts) > time.Hour || time.Since(ts) < -time.Hour {
		t.Errorf("time = %v, want about now", m["time"])
	}
}

func TestSlackPayload(t *testing.T) {
	r := sendOne(t, FormatSlack, "/services/T0/B0/x", driftEvent())
	var got struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	decodeStrict(t, r.Body, &got)
	wantText := "WARNING [prod] drift: 3 drifted, 1 missing (rev abc1234) <https://plinth.example/drift/prod?at=1&amp;b=2|report>"
	if got.Text != wantText {
		t.Errorf("text\n got %q\nwant %q", got.Text, wantText)
	}
	if len(got.Blocks) != 3 {
		t.Fatalf("%d blocks, want 3: %s", len(got.Blocks), r.Body)
	}
	b := got.Blocks
	if b[0].Type != "section" || b[0].Text == nil || b[0].Text.Type != "mrkdwn" ||
		b[0].Text.Text != "*WARNING* [prod] drift: 3 drifted, 1 missing (rev abc1234) <https://plinth.example/drift/prod?at=1&amp;b=2|report>" {
		t.Errorf("block 0 = %+v", b[0])
	}
	if b[1].Type != "section" || b[1].Text == nil || b[1].Text.Text != "4 objects differ from revision abc1234" {
		t.Errorf("block 1 = %+v", b[1])
	}
	if b[2].Type != "context" || len(b[2].Elements) != 1 || b[2].Elements[0].Type != "mrkdwn" ||
		b[2].Elements[0].Text != "DriftDetected | 2026-11-22T08:30:00Z | revision abc1234def5678901234567890abcdef12345678" {
		t.Errorf("block 2 = %+v", b[2])
	}

	// Another event: its reason and message make the line.
	r = sendOne(t, FormatSlack, "", Event{Environment: "prod", Reason: ReasonReconcileFailed, Message: "apply of Deployment/web failed", Time: when})
	decodeStrict(t, r.Body, &got)
	if want := "ERROR [prod] ReconcileFailed: apply of Deployment/web failed"; got.Text != want {
		t.Errorf("text %q, want %q", got.Text, want)
	}
}

type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

func TestAlertmanagerPayload(t *testing.T) {
	// No path: the v2 API's.
	r := sendOne(t, FormatAlertmanager, "", driftEvent())
	if r.Path != "/api/v2/alerts" {
		t.Errorf("path %q, want /api/v2/alerts", r.Path)
	}
	var alerts []postableAlert
	decodeStrict(t, r.Body, &alerts)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1: %s", len(alerts), r.Body)
	}
	a := alerts[0]
	e := driftEvent()
	wantLabels := map[string]string{"alertname": "PlinthDrift", "environment": "prod", "severity": "warning"}
	wantAnnotations := map[string]string{"summary": e.Message, "revision": e.Revision, "report": e.URL, "drift": "3 drifted, 1 missing"}
	checkMap(t, "labels", a.Labels, wantLabels)
	checkMap(t, "annotations", a.Annotations, wantAnnotations)
	if !a.StartsAt.Equal(when) {
		t.Errorf("startsAt = %v, want %v", a.StartsAt, when)
	}
	if !a.EndsAt.IsZero() || bytes.Contains(r.Body, []byte("endsAt")) {
		t.Errorf("a firing alert has endsAt: %s", r.Body)
	}
	if a.GeneratorURL != e.URL {
		t.Errorf("generatorURL = %q, want %q", a.GeneratorURL, e.URL)
	}

	// A path given is kept.
	if r := sendOne(t, FormatAlertmanager, "/am/api/v2/alerts", driftEvent()); r.Path != "/am/api/v2/alerts" {
		t.Errorf("path %q, want /am/api/v2/alerts", r.Path)
	}

	for _, c := range []struct {
		reason, alertname string
		resolve           bool
	}{
		{ReasonDriftResolved, "PlinthDrift", true},
		{ReasonApplied, "PlinthReconcileFailed", true},
		{ReasonReconcileFailed, "PlinthReconcileFailed", false},
		{"ImagePullBackOff!", "PlinthImagePullBackOff", false},
	} {
		t.Run(c.reason, func(t *testing.T) {
			r := sendOne(t, FormatAlertmanager, "", Event{Environment: "prod", Reason: c.reason, Message: "m", Revision: "abc1234", Time: when})
			var alerts []postableAlert
			decodeStrict(t, r.Body, &alerts)
			if !c.resolve {
				if len(alerts) != 1 || !alerts[0].EndsAt.IsZero() || alerts[0].Labels["alertname"] != c.alertname {
					t.Fatalf("want one firing %s, got %s", c.alertname, r.Body)
				}
				return
			}
			// Resolved whatever severity it fired with.
			severities := map[string]bool{}
			for _, a := range alerts {
				severities[a.Labels["severity"]] = true
				checkMap(t, "labels", a.Labels, map[string]string{"alertname": c.alertname, "environment": "prod", "severity": a.Labels["severity"]})
				checkMap(t, "annotations", a.Annotations, map[string]string{"summary": "m", "revision": "abc1234"})
				if !a.StartsAt.Equal(when) || !a.EndsAt.Equal(when) {
					t.Errorf("startsAt %v, endsAt %v: want both %v", a.StartsAt, a.EndsAt, when)
				}
				if a.GeneratorURL != "" {
					t.Errorf("generatorURL %q without a report URL", a.GeneratorURL)
				}
			}
			if len(alerts) != 3 || !severities["info"] || !severities["warning"] || !severities["error"] {
				t.Errorf("want info, warning and error resolved, got %s", r.Body)
			}
		})
	}
}

func checkMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s[%s] = %q, want %q", what, k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s has unexpected %s=%q", what, k, got[k])
		}
	}
}

func TestMessagesAreSafe(t *testing.T) {
	e := Event{
		Environment: "prod\x1b[31m",
		Reason:      ReasonReconcileFailed,
		Message:     "line one\nline\ttwo\r\x00\x07 <!channel> & <https://evil.example|click> \u202Egnp.exe\xff",
		Revision:    "abc\n1234",
		Time:        when,
		URL:         "javascript:alert(1)",
	}
	r := sendOne(t, FormatJSON, "", e)
	var got jsonEvent
	decodeStrict(t, r.Body, &got)
	if want := "line one line two <!channel> & <https://evil.example|click> gnp.exe\uFFFD"; got.Message != want {
		t.Errorf("message\n got %q\nwant %q", got.Message, want)
	}
	if got.Environment != "prod[31m" || got.Revision != "abc 1234" {
		t.Errorf("environment %q, revision %q", got.Environment, got.Revision)
	}
	if got.URL != "" {
		t.Errorf("url %q sent: only http(s) URLs are", got.URL)
	}

	r = sendOne(t, FormatSlack, "", e)
	var slack slackMessage
	decodeStrict(t, r.Body, &slack)
	if want := "ERROR [prod[31m] ReconcileFailed: line one line two &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; gnp.exe\uFFFD (rev abc 1234)"; slack.Text != want {
		t.Errorf("slack text\n got %q\nwant %q", slack.Text, want)
	}
	for _, b := range slack.Blocks {
		s := ""
		if b.Text != nil {
			s = b.Text.Text
		}
		for _, el := range b.Elements {
			s += el.Text
		}
		if strings.Contains(s, "<!") || strings.Contains(s, "<https://evil") {
			t.Errorf("block not escaped: %q", s)
		}
	}

	// Lengths are bounded, even escaped for Slack.
	long := Event{Reason: "Applied", Message: strings.Repeat("&", 5000), Time: when}
	r = sendOne(t, FormatJSON, "", long)
	decodeStrict(t, r.Body, &got)
	if n := utf8.RuneCountInString(got.Message); n != maxMessage || !strings.HasSuffix(got.Message, "…") {
		t.Errorf("message of %d characters, want %d ending in …", n, maxMessage)
	}
	r = sendOne(t, FormatSlack, "", long)
	decodeStrict(t, r.Body, &slack)
	for _, b := range slack.Blocks {
		if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > slackSectionMax {
			t.Errorf("section of %d characters, Slack takes %d", utf8.RuneCountInString(b.Text.Text), slackSectionMax)
		}
	}
	if !strings.HasSuffix(slack.Text, "&amp;…") {
		t.Errorf("slack text cut inside an escape: ...%q", slack.Text[len(slack.Text)-20:])
	}
}

func TestRetriesThen200(t *testing.T) {
	rec := &recorder{statuses: []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable}}
	srv := serve(t, rec)
	if err := fast().Send(context.Background(), Target{Name: "hook", URL: srv.URL, Format: FormatJSON}, driftEvent()); err != nil {
		t.Fatal(err)
	}
	got := rec.received()
	if len(got) != 3 {
		t.Fatalf("%d attempts, want 3", len(got))
	}
	for _, r := range got[1:] {
		if !bytes.Equal(r.Body, got[0].Body) {
			t.Errorf("retry sent another body:\n%s\n%s", r.Body, got[0].Body)
		}
	}
}

func TestGivesUpAfterRetries(t *testing.T) {
	rec := &recorder{statuses: []int{500, 502, 503, 504, 500, 500}}
	srv := serve(t, rec)
	n := fast()
	n.Retries = 2
	err := n.Send(context.Background(), Target{Name: "hook", URL: srv.URL, Format: FormatJSON}, driftEvent())
	var ne *Error
	if !errors.As(err, &ne) || ne.Attempts != 3 || ne.Status != 503 {
		t.Fatalf("error %#v, want an *Error of 3 attempts ending with 503", err)
	}
	if want := `notify target "hook" (` + srv.URL + `): status 503 Service Unavailable (after 3 attempts)`; err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
	if len(rec.received()) != 3 {
		t.Errorf("%d requests, want 3", len(rec.received()))
	}

	// Negative: no retry.
	rec = &recorder{statuses: []int{500, 500}}
	srv = serve(t, rec)
	n.Retries = -1
	if err := n.Send(context.Background(), Target{Name: "hook", URL: srv.URL, Format: FormatJSON}, driftEvent()); err == nil || len(rec.received()) != 1 {
		t.Errorf("Retries -1: %d requests, error %v; want 1 and an error", len(rec.received()), err)
	}
}

func TestRetryAfter(t *testing.T) {
	// Honoured on a real server, capped by MaxDelay (tiny here): finishes.
	rec := &recorder{statuses: []int{http.StatusTooManyRequests}, header: http.Header{"Retry-After": {"1"}}}
	srv := serve(t, rec)
	if err := fast().Send(context.Background(), Target{Name: "hook", URL: srv.URL, Format: FormatSlack}, driftEvent()); err != nil {
		t.Fatal(err)
	}
	if len(rec.received()) != 2 {
		t.Errorf("%d attempts, want 2", len(rec.received()))
	}

	// The waits asked for, without waiting them.
	waits := func(n *Notifier, header http.Header, statuses ...int) []time.Duration {
		t.Helper()
		var got []time.Duration
		n.sleep = func(ctx context.Context, d time.Duration) error {
			got = append(got, d)
			return nil
		}
		srv := serve(t, &recorder{statuses: statuses, header: header})
		if err := n.Send(context.Background(), Target{Name: "hook", URL: srv.URL, Format: FormatJSON}, driftEvent()); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := waits(&Notifier{}, http.Header{"Retry-After": {"2"}}, 429, 503); len(got) != 2 || got[0] != 2*time.Second || got[1] != 2*time.Second {
		t.Errorf("Retry-After 2 on 429 and 503: waits %v, want [2s 2s]", got)
	}
	if got := waits(&Notifier{}, http.Header{"Retry-After": {"3600"}}, 429); len(got) != 1 || got[0] != DefaultMaxDelay {
		t.Errorf("Retry-After 3600: waits %v, want [%v]", got, DefaultMaxDelay)
	}
	if got := waits(&Notifier{MaxDelay: time.Minute}, http.Header{"Retry-After": {time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}}, 429); len(got) != 1 || got[0] != 0 {
		t.Errorf("Retry-After in the past: waits %v, want [0s]", got)
	}
	// Without Retry-After: 1 s, 2 s, 4 s, each jittered to between half
	// and all of it.
	got := waits(&Notifier{}, nil, 503, 503, 503)
	if len(got) != 3 {
		t.Fatalf("waits %v, want 3", got)
	}
	for i, d := range got {
		base := DefaultBackoff << i
		if d < base/2 || d > base {
			t.Errorf("wait %d = %v, want between %v and %v", i, d, base/2, base)
		}
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusFound} {
		rec := &recorder{statuses: []int{status, status}}
		srv := serve(t, rec)
		err := fast().Send(context.Background(), Target{Name: "team-slack", URL: srv.URL, Format: FormatSlack}, driftEvent())
		if err == nil {
			t.Fatalf("%d: no error", status)
		}
		if n := len(rec.received()); n != 1 {
			t.Errorf("%d: %d attempts, want 1", status, n)
		}
		want := `notify target "team-slack" (` + srv.URL + `): status ` + http.StatusText(status)
		if !strings.Contains(err.Error(), `"team-slack"`) || !strings.Contains(err.Error(), http.StatusText(status)) {
			t.Errorf("error %q, want like %q", err, want)
		}
		var ne *Error
		if !errors.As(err, &ne) || ne.Status != status || ne.Target != "team-slack" {
			t.Errorf("error %#v, want an *Error with status %d", err, status)
		}
	}
}

func TestErrorsHideURLSecrets(t *testing.T) {
	const token, query, password = "XoXbSeCrEtT0kEn", "QuErYsEcReT", "PaSsWoRd99"
	path := "/services/T0123/B0456/" + token
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A server quoting the request in its error.
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "invalid_token for "+r.URL.String())
	})
	srv := httptest.NewServer(echo)
	defer srv.Close()
	hang := hangingServer(t, nil)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	user := "http://bot:" + password + "@" + strings.TrimPrefix(srv.URL, "http://")

	n := fast()
	n.Client = &http.Client{Timeout: 20 * time.Millisecond}
	for _, c := range []struct{ name, url string }{
		{"status", srv.URL + path + "?token=" + query},
		{"user info", user + path},
		{"refused", closed.URL + path + "?token=" + query},
		{"timeout", hang.URL + path + "?token=" + query},
		{"bad url", "http://hooks.example/%zz/" + token},
		{"bad scheme", "ftp://hooks.example/" + token},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := n.Send(context.Background(), Target{Name: "slack", URL: c.url, Format: FormatSlack}, driftEvent())
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, s := range []string{token, query, password} {
				if strings.Contains(msg, s) {
					t.Errorf("error shows the secret %s: %s", s, msg)
				}
			}
			// Nor does any error it wraps.
			for e := error(err); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), token) {
					t.Errorf("wrapped %T shows the token: %s", e, e)
				}
			}
			if !strings.Contains(msg, `"slack"`) {
				t.Errorf("error does not name the target: %s", msg)
			}
			t.Log(msg)
		})
	}
}

// hangingServer answers no request before the client gives up, or the
// test ends; it calls onRequest, if set, first.
func hangingServer(t *testing.T, onRequest func()) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body, so the server watches the connection.
		_, _ = io.Copy(io.Discard, r.Body)
		if onRequest != nil {
			onRequest()
		}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return srv
}

func TestCancelStopsRetrying(t *testing.T) {
	// Cancelled while waiting to retry: the wait is an hour.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	n := &Notifier{Backoff: time.Hour, MaxDelay: time.Hour}
	n.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleep(ctx, d)
	}
	err := n.Send(ctx, Target{Name: "hook", URL: srv.URL, Format: FormatJSON}, driftEvent())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d attempts, want 1", calls.Load())
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("error %q lacks the last attempt's status", err)
	}

	// Cancelled during a request that hangs.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	hang := hangingServer(t, cancel)
	err = n.Send(ctx, Target{Name: "hook", URL: hang.URL, Format: FormatJSON}, driftEvent())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}

	// Cancelled before: no request.
	err = n.Send(ctx, Target{Name: "hook", URL: srv.URL, Format: FormatJSON}, driftEvent())
	if !errors.Is(err, context.Canceled) || calls.Load() != 1 {
		t.Errorf("error %v after %d calls, want context.Canceled and no request", err, calls.Load())
	}
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	err := fast().Send(context.Background(), Target{Name: "gone", URL: closed.URL, Format: FormatJSON}, driftEvent())
	var ne *Error
	if !errors.As(err, &ne) || ne.Attempts != 1+DefaultRetries || ne.Status != 0 {
		t.Fatalf("error %#v, want %d attempts and no status", err, 1+DefaultRetries)
	}
}

func TestSendAll(t *testing.T) {
	good := &recorder{}
	goodSrv := serve(t, good)
	bad := &recorder{statuses: []int{400}}
	badSrv := serve(t, bad)
	targets := []Target{
		{Name: "good", URL: goodSrv.URL, Format: FormatJSON},
		{Name: "broken", URL: badSrv.URL + "/secret-path-token", Format: FormatSlack},
	}
	err := fast().SendAll(context.Background(), targets, driftEvent())
	if err == nil {
		t.Fatal("no error")
	}
	if len(good.received()) != 1 {
		t.Errorf("good target received %d requests, want 1", len(good.received()))
	}
	if !strings.Contains(err.Error(), `"broken"`) || strings.Contains(err.Error(), `"good"`) || strings.Contains(err.Error(), "secret-path-token") {
		t.Errorf("error %q: want the broken target named, not the good one, and no path", err)
	}
	var ne *Error
	if !errors.As(err, &ne) || ne.Target != "broken" {
		t.Errorf("error %#v, want an *Error for broken", err)
	}

	if err := fast().SendAll(context.Background(), targets[:1], driftEvent()); err != nil {
		t.Errorf("one good target: %v", err)
	}
	if err := fast().SendAll(context.Background(), nil, driftEvent()); err != nil {
		t.Errorf("no targets: %v", err)
	}
}

func TestBadTargets(t *testing.T) {
	for _, c := range []struct {
		target Target
		want   string
	}{
		{Target{Name: "a", URL: "http://x.example", Format: "teams"}, `notify target "a" (http://x.example): unknown format "teams": want json, slack or alertmanager`},
		{Target{Name: "b", URL: "hooks.example/abc", Format: FormatJSON}, `notify target "b": url is not an absolute http or https URL`},
		{Target{Name: "c", URL: "", Format: FormatJSON}, `notify target "c": url is not an absolute http or https URL`},
	} {
		err := fast().Send(context.Background(), c.target, driftEvent())
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: error %v, want %q", c.target, err, c.want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"  a \n\n b\t", 10, "a b"},
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"abcd efg", 6, "abcd…"},
		{"\u202Eevil\u2066", 10, "evil"},
		{"a\x00b\x7fc\u0085d", 10, "abc d"},
		{strings.Repeat("x", 100000), 10, "xxxxxxxxx…"},
		{strings.Repeat("\x00", 100000) + "x", 10, "…"},
	} {
		if got := clean(c.in, c.max); got != c.want {
			t.Errorf("clean(%.20q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

package kubetest

// Faults a real API server does not produce on demand (a 503, a 429, a
// connection reset, a deadline), injected between a client and the real
// server. Everything else (admission, validation, conflicts) should come
// from the server itself.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fault is what a FaultTransport does to one request instead of (or
// around) sending it to the server with next.
type Fault func(r *http.Request, next http.RoundTripper) (*http.Response, error)

// FaultTransport is a transport wrapper for rest.Config.WrapTransport: it
// asks Pick, for each request, which Fault to inject (nil: none, the
// request goes to the server). Pick is called for requests one at a time,
// in the order they are made, so it may count them without locking.
type FaultTransport struct {
	Pick func(r *http.Request) Fault

	mu sync.Mutex
}

// Wrap wraps rt.
func (f *FaultTransport) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		f.mu.Lock()
		var fault Fault
		if f.Pick != nil {
			fault = f.Pick(r)
		}
		f.mu.Unlock()
		if fault == nil {
			return rt.RoundTrip(r)
		}
		return fault(r, rt)
	})
}

// IsWrite reports whether r changes the cluster: not a GET (nor a list
// or watch) and not a dry run.
func IsWrite(r *http.Request) bool {
	return r.Method != http.MethodGet && r.URL.Query().Get("dryRun") == ""
}

// IsApply reports whether r is a server-side apply that writes (not a
// dry run).
func IsApply(r *http.Request) bool {
	return r.Method == http.MethodPatch && IsWrite(r) &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/apply-patch")
}

// ObjectName returns the name of the object r is about: the last
// segment of its path (for requests about one object).
func ObjectName(r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, "/")
	return path[strings.LastIndex(path, "/")+1:]
}

// Status answers with the HTTP status code and a metav1.Status body as
// the API server writes it, without sending the request. retryAfter,
// when not negative, is sent as the Retry-After header (seconds): client-go
// retries 429 and 5xx answers that carry one, up to 10 times.
func Status(code int, retryAfter int) Fault {
	return func(r *http.Request, _ http.RoundTripper) (*http.Response, error) {
		reason := map[int]string{
			http.StatusTooManyRequests:     "TooManyRequests",
			http.StatusServiceUnavailable:  "ServiceUnavailable",
			http.StatusInternalServerError: "InternalError",
		}[code]
		body := fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"injected fault: %d %s","reason":%q,"code":%d}`,
			code, http.StatusText(code), reason, code)
		h := http.Header{"Content-Type": {"application/json"}}
		if retryAfter >= 0 {
			h.Set("Retry-After", strconv.Itoa(retryAfter))
		}
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return &http.Response{
			Status:        fmt.Sprintf("%d %s", code, http.StatusText(code)),
			StatusCode:    code,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        h,
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       r,
		}, nil
	}
}

// connectionReset is the error net/http returns when the server's end
// of the connection resets it.
func connectionReset(r *http.Request) error {
	return &net.OpError{Op: "read", Net: "tcp", Addr: fakeAddr(r.URL.Host), Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

// ResetBeforeServer fails the request with a connection reset without
// sending it: the server never sees it.
func ResetBeforeServer() Fault {
	return func(r *http.Request, _ http.RoundTripper) (*http.Response, error) {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, connectionReset(r)
	}
}

// ResetAfterServer sends the request and waits for the server's answer,
// then fails with a connection reset: the server did the work, the
// client never learns it.
func ResetAfterServer() Fault {
	return func(r *http.Request, next http.RoundTripper) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return nil, connectionReset(r)
	}
}

// Hang does not send the request and waits for its context to end, as
// a request to a server that stopped answering would; it returns the
// context's error.
func Hang() Fault {
	return func(r *http.Request, _ http.RoundTripper) (*http.Response, error) {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
}

// ExpiringContext is a context whose deadline passes when Expire is
// called (Err is then context.DeadlineExceeded), so a test decides at
// which request a deadline strikes rather than racing a clock.
type ExpiringContext struct {
	context.Context
	done chan struct{}
	once sync.Once
}

// NewExpiringContext returns a context that has not expired yet.
func NewExpiringContext() *ExpiringContext {
	return &ExpiringContext{Context: context.Background(), done: make(chan struct{})}
}

// Expire makes the deadline pass now.
func (c *ExpiringContext) Expire() { c.once.Do(func() { close(c.done) }) }

// Deadline reports no deadline: none is known in advance.
func (c *ExpiringContext) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done is closed by Expire.
func (c *ExpiringContext) Done() <-chan struct{} { return c.done }

// Err is context.DeadlineExceeded once expired.
func (c *ExpiringContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

package kubetest

import (
	"net/http"
	"sync/atomic"
)

// Writes counts the requests of a client that change the cluster
// (IsWrite: not reads, watches or dry runs), and the deletes among them:
// how a test proves that bad input wrote nothing. Install it with
// rest.Config.Wrap(w.Wrap).
type Writes struct {
	n, deletes atomic.Int64
	// After, when set, runs after each counted write's response arrived,
	// with the count so far (a test stopping the server after the Nth).
	After func(n int64)
}

// Wrap is a transport wrapper counting the writes made through it.
func (w *Writes) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		if IsWrite(r) {
			if r.Method == http.MethodDelete {
				w.deletes.Add(1)
			}
			n := w.n.Add(1)
			if w.After != nil {
				w.After(n)
			}
		}
		return resp, err
	})
}

// Count is the number of writes so far.
func (w *Writes) Count() int64 { return w.n.Load() }

// Deletes is the number of deletes so far (counted in Count too).
func (w *Writes) Deletes() int64 { return w.deletes.Load() }

// Reset forgets what was counted, such as the writes of a setup.
func (w *Writes) Reset() {
	w.n.Store(0)
	w.deletes.Store(0)
}

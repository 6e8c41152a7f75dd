package reconciler

import (
	"bytes"
	"net/http"
	"strings"
	"sync"

	"github.com/plinth-platform/plinth/lib/drift"
)

// Reports keeps the latest drift report of each environment and serves
// it over HTTP: /drift/<environment> as HTML, /drift/<environment>.json
// as JSON (lib/drift/SCHEMA.md), /drift/ lists the environments.
type Reports struct {
	mu      sync.RWMutex
	reports map[string]*drift.Report
}

func (rs *Reports) put(env string, r *drift.Report) {
	if rs == nil {
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.reports == nil {
		rs.reports = map[string]*drift.Report{}
	}
	rs.reports[env] = r
}

// forget drops env's report.
func (rs *Reports) forget(env string) {
	if rs == nil {
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.reports, env)
}

// ServeHTTP serves the reports.
func (rs *Reports) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	name := strings.TrimPrefix(req.URL.Path, "/drift/")
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	if name == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for env := range rs.reports {
			_, _ = w.Write([]byte(env + "\n"))
		}
		return
	}
	env, asJSON := strings.CutSuffix(name, ".json")
	r, ok := rs.reports[env]
	if !ok {
		http.Error(w, "no drift report for "+env+" yet", http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	var err error
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		err = r.WriteJSON(&buf)
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err = r.WriteHTML(&buf)
	}
	if err != nil {
		http.Error(w, "rendering the report failed", http.StatusInternalServerError)
		return
	}
	_, _ = buf.WriteTo(w)
}

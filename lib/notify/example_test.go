package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/notify"
)

func ExampleNotifier_Send() {
	// A webhook receiver that prints what it gets.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var out bytes.Buffer
		_ = json.Indent(&out, body, "", "  ")
		fmt.Println(out.String())
	}))
	defer srv.Close()

	var n notify.Notifier
	err := n.Send(context.Background(), notify.Target{Name: "platform", URL: srv.URL, Format: notify.FormatJSON}, notify.Event{
		Environment: "prod",
		Severity:    notify.SeverityWarning,
		Reason:      notify.ReasonDriftDetected,
		Message:     "4 objects differ",
		Revision:    "abc1234",
		Drift:       &drift.Summary{Objects: 120, Drifted: 3, Missing: 1},
		Time:        time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC),
		URL:         "https://plinth.example/drift/prod",
	})
	fmt.Println(err)
	// Output:
	// {
	//   "schemaVersion": 1,
	//   "environment": "prod",
	//   "severity": "warning",
	//   "reason": "DriftDetected",
	//   "message": "4 objects differ",
	//   "revision": "abc1234",
	//   "drift": {
	//     "objects": 120,
	//     "drifted": 3,
	//     "missing": 1,
	//     "unmanaged": 0,
	//     "stale": 0,
	//     "ignoredFields": 0
	//   },
	//   "time": "2026-11-22T08:30:00Z",
	//   "url": "https://plinth.example/drift/prod"
	// }
	// <nil>
}

func ExampleNotifier_SendAll() {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "invalid_token", http.StatusForbidden)
	}))
	defer broken.Close()

	n := notify.Notifier{Backoff: time.Millisecond}
	err := n.SendAll(context.Background(), []notify.Target{
		{Name: "alertmanager", URL: ok.URL, Format: notify.FormatAlertmanager},
		// The token in the path is never shown.
		{Name: "team-slack", URL: broken.URL + "/services/T0/B0/s3cr3tT0k3n", Format: notify.FormatSlack},
	}, notify.Event{Environment: "prod", Reason: notify.ReasonReconcileFailed, Message: "apply failed"})

	fmt.Println(strings.Replace(err.Error(), broken.URL, "http://hooks.example", 1))
	var ne *notify.Error
	if errors.As(err, &ne) {
		fmt.Println(ne.Target, ne.Status, ne.Attempts)
	}
	// Output:
	// notify target "team-slack" (http://hooks.example): status 403 Forbidden: invalid_token
	// team-slack 403 1
}

package kubetest

// The API server's audit log (Options.Audit): the server's own record
// of every write that reached it, with who made it, so that a test can
// count writes without trusting the client's account of them.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const (
	// The files StartWith writes into the certificate directory when
	// asked to audit.
	auditPolicyFile = "audit-policy.yaml"
	auditLogFile    = "audit.log"
)

// auditPolicy logs the writes (not reads, watches or the other verbs) at
// level Metadata, which names the object and the user without copying
// bodies, and only once each, when the response is complete (the stage
// that has the response's code).
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`

// configureAudit writes the policy into certDir and points the API
// server's flags at it and at the log beside it.
func configureAudit(args *envtest.Arguments, certDir string) error {
	policy := filepath.Join(certDir, auditPolicyFile)
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	args.Set("audit-policy-file", policy)
	args.Set("audit-log-path", filepath.Join(certDir, auditLogFile))
	args.Set("audit-log-format", "json")
	// Blocking (the default for the log backend, said here because the
	// tests depend on it): each event is written by the request's own
	// handler as it completes, not batched for later, so a write whose
	// response the client has seen is in the log a moment later.
	args.Set("audit-log-mode", "blocking")
	return nil
}

// AuditEvent is one write the API server logged: the fields of an
// audit.k8s.io/v1 Event that tests read.
type AuditEvent struct {
	// Verb is the API verb: create, update, patch (server-side apply
	// included, whether it creates the object or not), delete or
	// deletecollection.
	Verb string
	// User is the authenticated user's name (KubeconfigAs names them).
	User      string
	UserAgent string
	// FieldManager is the request's fieldManager parameter, "" when it
	// has none.
	FieldManager string
	// URI is the request's path and query.
	URI string
	// The object: resource (plural, "configmaps"), its subresource
	// ("status"), API group ("" for the core group), namespace ("" for
	// cluster-scoped objects, namespaces themselves included) and name.
	Resource, Subresource, APIGroup, Namespace, Name string
	// Code is the HTTP status of the response (0 when the server logged
	// none: a request that panicked).
	Code int
	// Received is when the request arrived, Completed when its response
	// was complete.
	Received, Completed time.Time
}

// auditEvent is the JSON of an audit.k8s.io/v1 Event, only the fields
// AuditEvent keeps: k8s.io/apiserver is not a direct dependency, and a
// test helper is no reason to make it one.
type auditEvent struct {
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	UserAgent string `json:"userAgent"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time `json:"stageTimestamp"`
}

// AuditWrites returns the writes the API server has logged so far, in
// the order it logged them: every create, update, patch, delete and
// deletecollection of any user, dry runs left out (they write nothing).
// It fails for a cluster started without Options.Audit.
func (c *Cluster) AuditWrites() ([]AuditEvent, error) {
	if c.auditLog == "" {
		return nil, fmt.Errorf("the cluster keeps no audit log: start it with kubetest.StartWith(kubetest.Options{Audit: true})")
	}
	f, err := os.Open(c.auditLog)
	if os.IsNotExist(err) {
		return nil, nil // nothing logged yet
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseAuditWrites(f)
}

// ParseAuditWrites reads an audit log (JSON lines, audit.k8s.io/v1
// Events) and returns its writes as AuditWrites does. A last line
// without its newline is one the server is still writing: it is left
// for the next read.
func ParseAuditWrites(r io.Reader) ([]AuditEvent, error) {
	var out []AuditEvent
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e auditEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w", n, err)
		}
		if e.Stage != "ResponseComplete" && e.Stage != "Panic" {
			continue
		}
		ev := AuditEvent{Verb: e.Verb, User: e.User.Username, UserAgent: e.UserAgent, URI: e.RequestURI,
			Received: e.RequestReceivedTimestamp, Completed: e.StageTimestamp}
		switch ev.Verb {
		case "create", "update", "patch", "delete", "deletecollection":
		default:
			continue
		}
		if u, err := url.ParseRequestURI(e.RequestURI); err == nil {
			q := u.Query()
			if len(q["dryRun"]) > 0 {
				continue
			}
			ev.FieldManager = q.Get("fieldManager")
		}
		if ref := e.ObjectRef; ref != nil {
			ev.Resource, ev.Subresource, ev.APIGroup, ev.Namespace, ev.Name = ref.Resource, ref.Subresource, ref.APIGroup, ref.Namespace, ref.Name
			// The server files a namespace's requests under the
			// namespace itself.
			if ev.APIGroup == "" && ev.Resource == "namespaces" {
				ev.Namespace = ""
			}
		}
		if e.ResponseStatus != nil {
			ev.Code = e.ResponseStatus.Code
		}
		out = append(out, ev)
	}
}

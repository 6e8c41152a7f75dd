package drift_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	live "github.com/plinth-platform/plinth/lib/cluster"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// The list as the plan (lib/cluster's Unchanged), case by case on the real API
// server: after plinth applied an object and something happened to it,
// what the live copy decides (live.Unchanged: unchanged, or a dry run needed), what
// apply plans and what drift reports. Each case runs twice:
//   - verified (PLINTH_VERIFY_PLAN=1, as every test of apply and drift):
//     every object the list decides is dry-run as well, and apply and
//     drift fail if the dry run disagrees;
//   - as shipped (PLINTH_VERIFY_PLAN unset): the verdicts must be the
//     same, and an object decided by the list gets no dry run at all.
//
// Not parallel: the two passes set PLINTH_VERIFY_PLAN.
func TestListDecidesAsTheDryRun(t *testing.T) {
	type verdict struct {
		unchanged bool         // live.Unchanged's verdict
		action    apply.Action // apply's plan ("" when the plan refuses)
		refused   string       // in the plan's failure, when it refuses
		state     string       // drift's state ("" in sync)
		failed    string       // in drift's error, when the check fails
	}
	for _, tc := range []struct {
		name string
		// yaml is applied first; next (if set) is then rendered instead.
		yaml, next string
		// change acts on the object between the apply and the checks.
		change func(t *testing.T, ns string)
		want   verdict
	}{
		{
			name: "server-defaulted fields",
			yaml: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: false
      containers:
      - name: web
        image: registry.example/web:1
        env:
        - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: EMPTY, value: ""}
        readinessProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 0}
        resources: {limits: {cpu: 1000m, memory: 1024Mi}, requests: {cpu: 0.5}}
`,
			want: verdict{unchanged: true, action: apply.Unchanged},
		},
		{
			name: "CRD-defaulted field",
			yaml: gadgetCRD + `apiVersion: NS.example.com/v1
kind: Gadget
metadata: {name: g, namespace: NS}
spec: {mode: slow}
`,
			want: verdict{unchanged: true, action: apply.Unchanged},
		},
		{
			name: "field of another manager that plinth does not render",
			yaml: cm,
			change: func(t *testing.T, ns string) {
				edit(t, "v1", "ConfigMap", ns, "cm", func(o *unstructured.Unstructured) {
					o.SetAnnotations(map[string]string{"team": "a"})
				})
			},
			want: verdict{unchanged: true, action: apply.Unchanged},
		},
		{
			name: "field changed by another manager",
			yaml: cm,
			change: func(t *testing.T, ns string) {
				edit(t, "v1", "ConfigMap", ns, "cm", func(o *unstructured.Unstructured) {
					_ = unstructured.SetNestedField(o.Object, "9", "data", "a")
				})
			},
			want: verdict{refused: `conflict with another field manager: .data.a: conflict with "kubectl-edit"`, state: drift.StateDrifted},
		},
		{
			name: "field changed by plinth's own manager out of band",
			yaml: cm,
			change: func(t *testing.T, ns string) {
				o := parse(t, strings.ReplaceAll(strings.ReplaceAll(cm, "NS", ns), `a: "1"`, `a: "9"`))
				o.SetLabels(map[string]string{manifest.LabelEnvironment: ns, manifest.LabelComponent: "app"})
				//lint:ignore SA1019 server-side apply of unstructured objects, as plinth does
				if err := cluster.Client(t).Patch(context.Background(), o, client.Apply, client.FieldOwner(manifest.FieldManager), client.ForceOwnership); err != nil {
					t.Fatal(err)
				}
			},
			want: verdict{action: apply.Configured, state: drift.StateDrifted},
		},
		{
			name: "field written by plinth's name with an update (kubectl edit --field-manager=plinth)",
			yaml: cm,
			change: func(t *testing.T, ns string) {
				update(t, "v1", "ConfigMap", ns, "cm", manifest.FieldManager, func(o *unstructured.Unstructured) {
					_ = unstructured.SetNestedField(o.Object, "9", "data", "a")
				})
			},
			// The server names the updater "plinth" too.
			want: verdict{refused: `.data.a: conflict with "plinth"`, state: drift.StateDrifted},
		},
		{
			name: "field removed from the environment",
			yaml: cm,
			next: strings.Replace(cm, `  b: "2"`+"\n", "", 1),
			want: verdict{action: apply.Configured, state: drift.StateDrifted},
		},
		{
			name: "field removed by another manager",
			yaml: cm,
			change: func(t *testing.T, ns string) {
				edit(t, "v1", "ConfigMap", ns, "cm", func(o *unstructured.Unstructured) {
					unstructured.RemoveNestedField(o.Object, "data", "b")
				})
			},
			want: verdict{action: apply.Configured, state: drift.StateDrifted},
		},
		{
			name: "Secret changed by hand",
			yaml: `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: NS}
data: {password: c2VudGluZWwtb2xk}
`,
			change: func(t *testing.T, ns string) {
				edit(t, "v1", "Secret", ns, "s", func(o *unstructured.Unstructured) {
					_ = unstructured.SetNestedField(o.Object, "c2VudGluZWwtbmV3", "data", "password")
				})
			},
			want: verdict{refused: `.data.password: conflict with "kubectl-edit"`, state: drift.StateDrifted},
		},
		{
			name: "immutable field changed",
			yaml: `apiVersion: v1
kind: ConfigMap
metadata: {name: frozen, namespace: NS}
immutable: true
data: {a: "1"}
`,
			next: `apiVersion: v1
kind: ConfigMap
metadata: {name: frozen, namespace: NS}
immutable: true
data: {a: "2"}
`,
			// drift check fails as a whole on an immutable change: the dry
			// run is refused (as before the list decided anything).
			want: verdict{refused: "immutable field changed", failed: "field is immutable"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, comps, _ := setup(t, tc.yaml)
			if tc.change != nil {
				tc.change(t, env)
			}
			if tc.next != "" {
				comps = components(t, env, tc.next)
			}
			// The object under test is the last; the others (a CRD) stay.
			objs := comps[0].Objects
			obj := objs[len(objs)-1]
			id := manifest.IDOf(obj).String()
			for _, pass := range []struct{ name, verify string }{{"verified", "1"}, {"as shipped", ""}} {
				t.Setenv("PLINTH_VERIFY_PLAN", pass.verify)
				var dryRuns atomic.Int64
				cfg := rest.CopyConfig(cluster.Config())
				cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
					return roundTrip(func(r *http.Request) (*http.Response, error) {
						if r.Method == http.MethodPatch && strings.Contains(r.URL.RawQuery, "dryRun=All") {
							dryRuns.Add(1)
						}
						return rt.RoundTrip(r)
					})
				}
				if got, _ := live.Unchanged(obj, liveCopy(t, obj)); got != tc.want.unchanged {
					t.Errorf("%s: cluster.Unchanged = %v, want %v", pass.name, got, tc.want.unchanged)
				}

				a, err := apply.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				res, err := a.Apply(context.Background(), env, comps, apply.Options{DryRun: true})
				var verr *apply.ValidationError
				switch {
				case tc.want.refused != "":
					if !errors.As(err, &verr) || !strings.Contains(err.Error(), tc.want.refused) {
						t.Errorf("%s: apply: %v, want a refusal with %q", pass.name, err, tc.want.refused)
					}
				case err != nil:
					t.Fatalf("%s: apply: %v", pass.name, err)
				default:
					for _, c := range res.Changes {
						if c.ID.String() == id && c.Action != tc.want.action {
							t.Errorf("%s: apply plans %s, want %s", pass.name, c.Action, tc.want.action)
						}
					}
				}

				c, err := drift.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				r, err := c.Check(context.Background(), env, comps, drift.Options{})
				if tc.want.failed != "" {
					if err == nil || !strings.Contains(err.Error(), tc.want.failed) {
						t.Errorf("%s: drift: %v, want an error with %q", pass.name, err, tc.want.failed)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: drift: %v", pass.name, err)
				}
				if got := items(r)[id].State; got != tc.want.state || r.Summary.Drifted+r.Summary.Missing > min(len(tc.want.state), 1) {
					t.Errorf("%s: drift finds %q, want %q: %+v", pass.name, got, tc.want.state, r.Components)
				}
				var out bytes.Buffer
				if err := r.WriteText(&out); err != nil {
					t.Fatal(err)
				}
				if err := r.WriteJSON(&out); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(out.String(), "c2VudGluZWw") || strings.Contains(out.String(), "sentinel") {
					t.Errorf("%s: a Secret's value in the drift report:\n%s", pass.name, out.String())
				}
				if pass.verify == "" && tc.want.unchanged && dryRuns.Load() != 0 {
					t.Errorf("as shipped: %d dry runs for an object the list shows unchanged, want 0", dryRuns.Load())
				}
			}
		})
	}
}

// components parses yaml (NS replaced by ns) as component "app" of
// environment ns, labelled as setup labels it.
func components(t *testing.T, ns, yaml string) []manifest.Component {
	t.Helper()
	objs, err := manifest.Parse([]byte(strings.ReplaceAll(yaml, "NS", ns)))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.SetLabels(map[string]string{manifest.LabelEnvironment: ns, manifest.LabelComponent: "app"})
	}
	return []manifest.Component{{Name: "app", Objects: objs}}
}

// parse parses one object.
func parse(t *testing.T, yaml string) *unstructured.Unstructured {
	t.Helper()
	objs, err := manifest.Parse([]byte(yaml))
	if err != nil || len(objs) != 1 {
		t.Fatalf("parse: %d objects, %v", len(objs), err)
	}
	return objs[0]
}

// liveCopy reads obj's live copy.
func liveCopy(t *testing.T, obj *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(obj.GroupVersionKind())
	if err := cluster.Client(t).Get(context.Background(), client.ObjectKeyFromObject(obj), cur); err != nil {
		t.Fatal(err)
	}
	return cur
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const cm = `apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: NS}
data:
  a: "1"
  b: "2"
`

package inventory

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/manifest"
)

const (
	// Namespace holds the inventories (and, later, the controller).
	Namespace = "plinth-system"
	// Label marks an inventory ConfigMap with its environment.
	Label = "plinth.dev/inventory"
	// dataKey holds the entries, one per line.
	dataKey = "entries"
	// createdKey holds the namespaces plinth created, one per line.
	createdKey = "created-namespaces"
)

// Entry is one object of the inventory: its identity and component.
type Entry struct {
	Component string
	manifest.ID
}

// Inventory is the set of objects plinth applied for an environment.
type Inventory struct {
	Environment string
	Entries     []Entry
	// Created lists the namespaces of Entries that plinth created (they
	// did not exist before it applied them), sorted: prune deletes no
	// other namespace.
	Created []string
	// Revision and Updated describe the last write (informational).
	Revision string
	Updated  time.Time

	resourceVersion string
}

// Name returns the name of the ConfigMap holding env's inventory.
func Name(env string) string { return "plinth-inventory-" + env }

// Read returns env's inventory, empty when there is none yet.
func Read(ctx context.Context, c client.Client, env string) (*Inventory, error) {
	var cm corev1.ConfigMap
	err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: Name(env)}, &cm)
	if apierrors.IsNotFound(err) {
		return &Inventory{Environment: env}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inventory of environment %s: %w", env, err)
	}
	entries, err := parse(cm.Data[dataKey])
	if err != nil {
		return nil, fmt.Errorf("inventory of environment %s (ConfigMap %s/%s): %w", env, Namespace, cm.Name, err)
	}
	inv := &Inventory{Environment: env, Entries: entries, Created: strings.Fields(cm.Data[createdKey]), Revision: cm.Annotations["plinth.dev/revision"], resourceVersion: cm.ResourceVersion}
	inv.Updated, _ = time.Parse(time.RFC3339, cm.Annotations["plinth.dev/updated"])
	return inv, nil
}

// Write stores inv, creating plinth-system when needed. It fails when the
// inventory changed since inv was read: two applies of one environment
// must not interleave.
func Write(ctx context.Context, c client.Client, inv *Inventory) error {
	if inv.resourceVersion == "" {
		if err := EnsureNamespace(ctx, c); err != nil {
			return fmt.Errorf("inventory of environment %s: %w", inv.Environment, err)
		}
	}
	inv.Updated = time.Now().UTC().Truncate(time.Second)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       Namespace,
			Name:            Name(inv.Environment),
			Labels:          map[string]string{Label: inv.Environment, "app.kubernetes.io/managed-by": "plinth"},
			Annotations:     map[string]string{"plinth.dev/revision": inv.Revision, "plinth.dev/updated": inv.Updated.Format(time.RFC3339)},
			ResourceVersion: inv.resourceVersion,
		},
		Data: map[string]string{dataKey: format(inv.Entries)},
	}
	if len(inv.Created) > 0 {
		cm.Data[createdKey] = strings.Join(inv.Created, "\n") + "\n"
	}
	var err error
	if inv.resourceVersion == "" {
		err = c.Create(ctx, cm)
	} else {
		err = c.Update(ctx, cm)
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("inventory of environment %s changed during this apply (another apply running?): %w", inv.Environment, err)
	}
	if err != nil {
		return fmt.Errorf("inventory of environment %s: %w", inv.Environment, err)
	}
	inv.resourceVersion = cm.ResourceVersion
	return nil
}

// EnsureNamespace creates plinth-system unless it exists.
func EnsureNamespace(ctx context.Context, c client.Client) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}
	err := c.Create(ctx, ns)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// Equal reports whether a and b list the same objects (with the same
// versions and components), in any order.
func Equal(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	Sort(x)
	Sort(y)
	return slices.Equal(x, y)
}

// Key identifies an entry regardless of its API version and component: an
// object keeps its identity when its chart moves it to a newer version or
// another component takes it over.
func Key(id manifest.ID) string {
	return id.Group + "/" + id.Kind + "/" + id.Namespace + "/" + id.Name
}

// Union returns the entries of a and b, b's winning for the same key, sorted.
func Union(a, b []Entry) []Entry {
	byKey := make(map[string]Entry, len(a)+len(b))
	for _, es := range [][]Entry{a, b} {
		for _, e := range es {
			byKey[Key(e.ID)] = e
		}
	}
	out := make([]Entry, 0, len(byKey))
	for _, e := range byKey {
		out = append(out, e)
	}
	Sort(out)
	return out
}

// Minus returns the entries of a whose key is not in b.
func Minus(a, b []Entry) []Entry {
	in := make(map[string]bool, len(b))
	for _, e := range b {
		in[Key(e.ID)] = true
	}
	var out []Entry
	for _, e := range a {
		if !in[Key(e.ID)] {
			out = append(out, e)
		}
	}
	return out
}

// Sort orders entries by component, then identity.
func Sort(es []Entry) {
	slices.SortFunc(es, func(x, y Entry) int {
		return cmp.Or(cmp.Compare(x.Component, y.Component), cmp.Compare(Key(x.ID), Key(y.ID)), cmp.Compare(x.Version, y.Version))
	})
}

// format writes one entry per line: component, apiVersion, kind,
// namespace ("-" for none) and name, separated by spaces. None of them can
// contain a space.
func format(es []Entry) string {
	var b strings.Builder
	for _, e := range es {
		ns := e.Namespace
		if ns == "" {
			ns = "-"
		}
		fmt.Fprintf(&b, "%s %s %s %s %s\n", e.Component, e.APIVersion(), e.Kind, ns, e.Name)
	}
	return b.String()
}

func parse(data string) ([]Entry, error) {
	var es []Entry
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("line %d: want 5 fields (component apiVersion kind namespace name), got %d", n, len(f))
		}
		group, version, _ := strings.Cut(f[1], "/")
		if version == "" {
			group, version = "", f[1]
		}
		ns := f[3]
		if ns == "-" {
			ns = ""
		}
		es = append(es, Entry{Component: f[0], ID: manifest.ID{Group: group, Version: version, Kind: f[2], Namespace: ns, Name: f[4]}})
	}
	return es, sc.Err()
}

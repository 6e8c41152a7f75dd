// Package clustermark keeps a cluster's identity: the ConfigMap
// plinth-system/plinth-cluster names the environments the cluster is for.
// The first apply to an unmarked cluster marks it with its environment;
// from then on every write of another environment (plinth apply, drift
// --correct, the controller) is refused before anything is written,
// naming both: prod does not go onto dev by a wrong kubeconfig context.
//
// Moving a cluster to another environment is done on purpose: plinth
// apply --adopt-cluster (the marker then names that environment alone).
// A cluster shared by several environments on purpose lists each in the
// marker's data.environments, one per line, written by hand.
package clustermark

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/inventory"
)

const (
	// Name is the marker's ConfigMap, in inventory.Namespace.
	Name = "plinth-cluster"
	// EnvironmentsKey holds the environments the cluster is for, one per line.
	EnvironmentsKey = "environments"
	// annotationMarked is when the marker last changed, and how.
	annotationMarked = "plinth.dev/marked"
)

// Claim is a cluster checked for an environment, before anything is
// written: Mark writes the marker with the first write, when the cluster
// has none or is adopted.
type Claim struct {
	client client.Client
	env    string
	// marker is the live marker (nil: the cluster has none).
	marker *corev1.ConfigMap
	adopt  bool
}

// MismatchError is a cluster marked for other environments than the one
// to be written.
type MismatchError struct {
	Environment string
	// MarkedFor are the environments the marker names.
	MarkedFor []string
	// Marked says when and how the marker was written.
	Marked string
	// Cluster names the cluster as the caller knows it (a kubeconfig
	// context and server), when it does.
	Cluster string
}

func (e *MismatchError) Error() string {
	cluster, since := "a cluster", ""
	if e.Cluster != "" {
		cluster = "the cluster of " + e.Cluster + ","
	}
	if e.Marked != "" {
		since = ", " + e.Marked
	}
	return fmt.Sprintf("refusing to write environment %s to %s marked for environment %s (ConfigMap %s/%s%s). "+
		"Check the kubeconfig context; to move the cluster to %s on purpose, apply it with --adopt-cluster (to share the cluster, list %s in the ConfigMap's data.%s, one environment per line)",
		e.Environment, cluster, strings.Join(e.MarkedFor, ", "), inventory.Namespace, Name, since, e.Environment, e.Environment, EnvironmentsKey)
}

// Check reads the cluster's marker and refuses a cluster marked for other
// environments than env, unless adopt. It writes nothing.
func Check(ctx context.Context, c client.Client, env string, adopt bool) (*Claim, error) {
	cm := &corev1.ConfigMap{}
	err := c.Get(ctx, client.ObjectKey{Namespace: inventory.Namespace, Name: Name}, cm)
	switch {
	case apierrors.IsNotFound(err):
		return &Claim{client: c, env: env, adopt: adopt}, nil
	case err != nil:
		return nil, fmt.Errorf("reading the cluster's marker %s/%s: %w", inventory.Namespace, Name, err)
	}
	claim := &Claim{client: c, env: env, marker: cm, adopt: adopt}
	// A marker listing no environment (emptied by hand) marks the cluster
	// for nobody: the first apply claims it, as an unmarked one.
	if marked := Environments(cm); len(marked) > 0 && !slices.Contains(marked, env) && !adopt {
		return nil, &MismatchError{Environment: env, MarkedFor: marked, Marked: cm.Annotations[annotationMarked]}
	}
	return claim, nil
}

// Environments returns the environments a marker names.
func Environments(cm *corev1.ConfigMap) []string {
	return strings.Fields(cm.Data[EnvironmentsKey])
}

// Mark writes the marker when the cluster needs one: none yet, or adopted
// from other environments. It fails when the marker changed since Check
// (another environment marked the cluster meanwhile).
func (cl *Claim) Mark(ctx context.Context) error {
	now := time.Now().UTC().Format(time.RFC3339)
	switch {
	case cl.marker == nil:
		if err := inventory.EnsureNamespace(ctx, cl.client); err != nil {
			return fmt.Errorf("marking the cluster for environment %s: %w", cl.env, err)
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Namespace:   inventory.Namespace,
				Name:        Name,
				Labels:      map[string]string{"app.kubernetes.io/managed-by": "plinth"},
				Annotations: map[string]string{annotationMarked: "marked for " + cl.env + " at " + now},
			},
			Data: map[string]string{EnvironmentsKey: cl.env + "\n"},
		}
		err := cl.client.Create(ctx, cm)
		if apierrors.IsAlreadyExists(err) {
			// Another apply marked it since Check: its word counts.
			return cl.recheck(ctx)
		}
		if err != nil {
			return fmt.Errorf("marking the cluster for environment %s: %w", cl.env, err)
		}
		cl.marker = cm
		return nil
	case slices.Contains(Environments(cl.marker), cl.env):
		return nil
	default: // adopted, or listing no environment
		cm := cl.marker.DeepCopy()
		from := strings.Join(Environments(cm), ", ")
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[annotationMarked] = "moved from " + from + " to " + cl.env + " at " + now
		if from == "" {
			cm.Annotations[annotationMarked] = "marked for " + cl.env + " at " + now
		}
		cm.Data = map[string]string{EnvironmentsKey: cl.env + "\n"}
		// The resource version read by Check: a marker changed since then
		// fails the update rather than being overwritten.
		if err := cl.client.Update(ctx, cm); err != nil {
			if apierrors.IsConflict(err) {
				return fmt.Errorf("the cluster's marker %s/%s changed during this apply (another apply running?): %w", inventory.Namespace, Name, err)
			}
			return fmt.Errorf("moving the cluster from %s to environment %s: %w", from, cl.env, err)
		}
		cl.marker = cm
		return nil
	}
}

// recheck reads the marker another apply wrote between Check and Mark.
func (cl *Claim) recheck(ctx context.Context) error {
	again, err := Check(ctx, cl.client, cl.env, false)
	if err != nil {
		return err
	}
	cl.marker = again.marker
	return nil
}

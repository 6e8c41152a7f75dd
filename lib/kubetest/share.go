package kubetest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/clustermark"
	"github.com/plinth-platform/plinth/lib/inventory"
)

// Share lists envs in the cluster's marker (ConfigMap
// plinth-system/plinth-cluster), as platform owners list the environments
// of a cluster shared on purpose: the tests of a package apply many
// environments to one API server, which the CLI and the controller
// otherwise refuse (package clustermark).
func (c *Cluster) Share(ctx context.Context, envs ...string) error {
	cl, err := client.New(c.Config(), client.Options{})
	if err != nil {
		return err
	}
	key := client.ObjectKey{Namespace: inventory.Namespace, Name: clustermark.Name}
	err = retry.OnError(retry.DefaultRetry, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, func() error {
		cm := &corev1.ConfigMap{}
		err := cl.Get(ctx, key, cm)
		if apierrors.IsNotFound(err) {
			if err := inventory.EnsureNamespace(ctx, cl); err != nil {
				return err
			}
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
			cm.Data = map[string]string{clustermark.EnvironmentsKey: strings.Join(envs, "\n") + "\n"}
			return cl.Create(ctx, cm)
		}
		if err != nil {
			return err
		}
		listed := clustermark.Environments(cm)
		for _, env := range envs {
			if !slices.Contains(listed, env) {
				listed = append(listed, env)
			}
		}
		cm.Data = map[string]string{clustermark.EnvironmentsKey: strings.Join(listed, "\n") + "\n"}
		return cl.Update(ctx, cm)
	})
	if err != nil {
		return fmt.Errorf("listing %s in the cluster's marker: %w", strings.Join(envs, ", "), err)
	}
	return nil
}

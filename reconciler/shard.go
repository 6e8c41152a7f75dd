package reconciler

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// Shards split the Environments of a cluster between controllers: a
// controller run with a shard name reconciles only the Environments
// labelled with it, one without only the unlabelled ones. This file is the
// one definition of that choice; plinth controller and the tests use it.

// ShardLabel is the label that puts an Environment in a shard.
const ShardLabel = "plinth.dev/shard"

// leaderElectionID is the Lease of the default shard's controllers; a
// shard's Lease is leaderElectionID-<name>.
const leaderElectionID = "plinth-controller"

// MaxShardLen is the longest shard name: plinth-controller-<name> names
// the shard's Deployment, Service and Lease, and Service names are at
// most 63 characters.
const MaxShardLen = 63 - len(leaderElectionID+"-")

// ValidateShard checks a shard name ("" is the default shard): a DNS-1123
// label of at most MaxShardLen characters.
func ValidateShard(name string) error {
	if name == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("shard %q: %s", name, strings.Join(errs, "; "))
	}
	if len(name) > MaxShardLen {
		return fmt.Errorf("shard %q: %d characters, at most %d (%s-<shard> names its Deployment, Service and Lease, at most 63)", name, len(name), MaxShardLen, leaderElectionID)
	}
	return nil
}

// ShardSelector selects the Environments of a shard: plinth.dev/shard=NAME,
// or !plinth.dev/shard for the default shard ("").
func ShardSelector(name string) (labels.Selector, error) {
	if err := ValidateShard(name); err != nil {
		return nil, err
	}
	op, values := selection.Equals, []string{name}
	if name == "" {
		op, values = selection.DoesNotExist, nil
	}
	req, err := labels.NewRequirement(ShardLabel, op, values)
	if err != nil {
		return nil, fmt.Errorf("shard %q: %w", name, err)
	}
	return labels.NewSelector().Add(*req), nil
}

// ShardCache is the manager's cache for a shard: its informer lists and
// watches only the shard's Environments, so a controller's memory grows
// with its shard, not the cluster, and it cannot read another shard's
// Environments. An Environment relabelled out of the shard leaves the
// cache as if deleted.
func ShardCache(name string) (cache.Options, error) {
	sel, err := ShardSelector(name)
	if err != nil {
		return cache.Options{}, err
	}
	return cache.Options{ByObject: map[client.Object]cache.ByObject{&v1.Environment{}: {Label: sel}}}, nil
}

// LeaderElectionID is the shard's Lease: each shard elects its own
// leader, so the shards' controllers work at the same time.
func LeaderElectionID(name string) string {
	if name == "" {
		return leaderElectionID
	}
	return leaderElectionID + "-" + name
}

// otherShard says whether env is outside the reconciler's shard, and
// then forgets it. The cache holds only the shard's Environments, so this
// catches a Reconciler whose client reads another cache. Forgetting drops
// memory and checkouts only: the objects it applied stay in the cluster,
// for the Environment's new shard to take over.
func (r *Reconciler) otherShard(ctx context.Context, env *v1.Environment) bool {
	sel, err := ShardSelector(r.Shard)
	if err == nil && sel.Matches(labels.Set(env.Labels)) {
		return false
	}
	if err != nil {
		log.FromContext(ctx).Error(err, "not reconciled: the controller's shard is invalid")
	} else {
		log.FromContext(ctx).Info("not reconciled: labelled for another shard", "shard", r.Shard, "label", env.Labels[ShardLabel])
	}
	r.forget(client.ObjectKeyFromObject(env))
	return true
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is plinth.dev/v1alpha1.
var GroupVersion = schema.GroupVersion{Group: "plinth.dev", Version: "v1alpha1"}

// AddToScheme adds the API's types to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Environment{}, &EnvironmentList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

// Drift policies.
const (
	DriftReport  = "report"
	DriftCorrect = "correct"
)

// Condition types (kstatus-compatible: Ready, Reconciling, Stalled).
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	ConditionDrifted     = "Drifted"
)

// Environment keeps one environment of an environments repository
// applied to a cluster: the one the controller runs in, or the one of
// spec.kubeConfig.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=penv
// +kubebuilder:printcolumn:name="Environment",type=string,JSONPath=`.spec.environment`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.lastAppliedRevision`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Environment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   EnvironmentSpec   `json:"spec"`
	Status EnvironmentStatus `json:"status,omitempty"`
}

// EnvironmentSpec says what to keep applied, how often to look, and what
// to do about drift.
type EnvironmentSpec struct {
	// Git is the environments repository.
	Git GitSource `json:"git"`
	// Environment is the directory name under environments/ in that repository.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Environment string `json:"environment"`
	// Interval is how often to look for a new revision.
	// +kubebuilder:default="1m"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`
	// DriftInterval is how often to check for drift (with jitter).
	// +kubebuilder:default="10m"
	// +optional
	DriftInterval metav1.Duration `json:"driftInterval,omitempty"`
	// DriftPolicy: report tells the platform owners; correct also re-applies the drifted objects.
	// +kubebuilder:validation:Enum=report;correct
	// +kubebuilder:default=report
	// +optional
	DriftPolicy string `json:"driftPolicy,omitempty"`
	// Prune deletes objects the environment no longer has.
	// +kubebuilder:default=true
	// +optional
	Prune *bool `json:"prune,omitempty"`
	// Suspend stops reconciling and drift checks.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// Timeout bounds one reconcile (render, apply, waits).
	// +kubebuilder:default="10m"
	// +optional
	Timeout metav1.Duration `json:"timeout,omitempty"`
	// KubeConfig names a Secret in the Environment's namespace holding a
	// kubeconfig for the cluster to apply to (as Flux's Kustomization).
	// Without it, the cluster the controller runs in. The kubeconfig
	// carries its credentials inline: exec plugins, auth providers and
	// file paths are refused.
	// +optional
	KubeConfig *KubeConfigReference `json:"kubeConfig,omitempty"`
	// Decryption holds the keys of the environment's encrypted Secrets
	// (environments/<env>/secrets/*.yaml, sops with age).
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`
}

// Decryption says how to decrypt the environment's encrypted Secrets, as
// Flux's Kustomization does.
type Decryption struct {
	// Provider is sops, the only one.
	// +kubebuilder:validation:Enum=sops
	// +kubebuilder:default=sops
	// +optional
	Provider string `json:"provider,omitempty"`
	// SecretRef names a Secret in the Environment's namespace whose keys
	// ending in .agekey hold age identities (age-keygen's output).
	SecretRef LocalObjectReference `json:"secretRef"`
}

// KubeConfigReference locates the kubeconfig of a remote cluster.
type KubeConfigReference struct {
	// SecretRef names the Secret and the key holding the kubeconfig.
	SecretRef SecretKeyReference `json:"secretRef"`
}

// SecretKeyReference names a key of a Secret in the same namespace.
type SecretKeyReference struct {
	Name string `json:"name"`
	// Key is the Secret's key holding the value (default value).
	// +optional
	Key string `json:"key,omitempty"`
}

// GitSource locates the environments repository.
type GitSource struct {
	// URL is an https://, ssh:// or file:// URL.
	// +kubebuilder:validation:Pattern=`^(https?|ssh|file)://`
	URL string `json:"url"`
	// Ref is the branch, tag or commit to follow (default: branch main).
	// +optional
	Ref GitRef `json:"ref,omitempty"`
	// Path is the repository root inside the repository (where environments/ is).
	// +kubebuilder:default="."
	// +optional
	Path string `json:"path,omitempty"`
	// SecretRef names a Secret in the Environment's namespace with
	// credentials: username and password (or token) for HTTPS; identity
	// and known_hosts for SSH.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// GitRef selects one of branch, tag or commit.
type GitRef struct {
	// +optional
	Branch string `json:"branch,omitempty"`
	// +optional
	Tag string `json:"tag,omitempty"`
	// Commit is a full SHA.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$`
	// +optional
	Commit string `json:"commit,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// EnvironmentStatus is what the controller observed and did.
type EnvironmentStatus struct {
	// ObservedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Reconciling, Stalled, Drifted.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastAppliedRevision is the commit last applied successfully.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`
	// LastAttemptedRevision is the commit last tried.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`
	// Inventory summarises what the controller applied.
	// +optional
	Inventory *InventorySummary `json:"inventory,omitempty"`
	// LastDrift summarises the last drift check.
	// +optional
	LastDrift *DriftSummary `json:"lastDrift,omitempty"`
}

// InventorySummary counts the applied objects (the list itself is in
// ConfigMap plinth-system/plinth-inventory-<environment>).
type InventorySummary struct {
	Objects int `json:"objects"`
	// +optional
	Components map[string]int `json:"components,omitempty"`
}

// DriftSummary is the outcome of the last drift check.
type DriftSummary struct {
	CheckedAt metav1.Time `json:"checkedAt"`
	Drifted   int         `json:"drifted"`
	Missing   int         `json:"missing"`
	Unmanaged int         `json:"unmanaged"`
	Stale     int         `json:"stale"`
	// Corrected: the drifted objects were applied again.
	// +optional
	Corrected bool `json:"corrected,omitempty"`
}

// EnvironmentList is a list of Environments.
//
// +kubebuilder:object:root=true
type EnvironmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Environment `json:"items"`
}

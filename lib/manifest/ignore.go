package manifest

// IgnoreRule selects fields of a component's objects whose drift is
// expected (others own them on purpose): those at or below Path (a JSON
// pointer), optionally only of one kind, namespace or name, and only
// while Manager owns the field. It is the environment's drift.ignore, as
// lib/platform decodes it and lib/drift applies it; it lives here because
// both sides of the pipeline share it and neither may import the other.
type IgnoreRule struct {
	Component string `json:"component"`
	Path      string `json:"path"`
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Manager   string `json:"manager,omitempty"`
}

package diff

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// severityRank orders notes, most severe first.
var severityRank = map[string]int{SeverityDanger: 0, SeverityWarning: 1, SeverityInfo: 2}

// sortNotes orders notes most severe first, then by environment,
// component, object, kind and message.
func sortNotes(notes []Note) {
	sort.Slice(notes, func(i, j int) bool {
		a, b := notes[i], notes[j]
		return cmp.Or(
			cmp.Compare(severityRank[a.Severity], severityRank[b.Severity]),
			cmp.Compare(a.Environment, b.Environment),
			cmp.Compare(a.Component, b.Component),
			cmp.Compare(a.Object, b.Object),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Message, b.Message),
		) < 0
	})
}

// environmentRemovedNote is the danger note of an environment that only
// the base revision has.
func environmentRemovedNote(env string, objects int) Note {
	return Note{
		Severity:    SeverityDanger,
		Kind:        NoteEnvironmentRemoved,
		Environment: env,
		Message: fmt.Sprintf("environment %s is removed: %s deleted with it", clean(env),
			plural(objects, "its one object is", fmt.Sprintf("all %d of its objects are", objects))),
	}
}

// removalNotes are the notes on deleting the object of e.
func removalNotes(env string, e entry) []Note {
	note := func(kind, msg string) []Note {
		return []Note{{
			Severity:    SeverityDanger,
			Kind:        kind,
			Environment: env,
			Component:   e.component,
			Object:      e.id.String(),
			Message:     clean(e.id.String()) + " is deleted: " + msg,
		}}
	}
	switch {
	case e.id.Group == "" && e.id.Kind == "PersistentVolumeClaim":
		return note(NotePVCDeleted, "data on it is deleted with it unless the PV's reclaim policy is Retain")
	case e.id.Group == "" && e.id.Kind == "Namespace":
		return note(NoteNamespaceDeleted, "everything in it is deleted")
	case e.id.Group == "apiextensions.k8s.io" && e.id.Kind == "CustomResourceDefinition":
		return note(NoteCRDDeleted, fmt.Sprintf("every custom resource of %s in the cluster is deleted with it",
			clean(crdResources(e.obj.Object, e.id.Name))))
	}
	return nil
}

// crdResources names the resources a CRD defines: "group/Kind" from its
// spec, or the CRD's name ("plural.group") when the spec does not say.
func crdResources(obj map[string]interface{}, name string) string {
	group, _ := nested(obj, "spec", "group").(string)
	kind, _ := nested(obj, "spec", "names", "kind").(string)
	if group == "" || kind == "" {
		return name
	}
	return group + "/" + kind
}

// immutableFields lists, by "group/Kind", the fields that cannot be
// changed in place: the API server rejects the update, so the object must
// be deleted and recreated. Fields are paths of map keys from the top.
var immutableFields = map[string][][]string{
	"apps/Deployment": {{"spec", "selector"}},
	"apps/ReplicaSet": {{"spec", "selector"}},
	"apps/DaemonSet":  {{"spec", "selector"}},
	"apps/StatefulSet": {
		{"spec", "selector"},
		{"spec", "serviceName"},
		{"spec", "volumeClaimTemplates"},
		{"spec", "podManagementPolicy"},
	},
	"batch/Job": {{"spec", "selector"}, {"spec", "template"}},
	"/PersistentVolumeClaim": {
		{"spec", "storageClassName"},
		{"spec", "accessModes"},
		{"spec", "volumeName"},
	},
	"storage.k8s.io/StorageClass": {
		{"provisioner"},
		{"parameters"},
		{"reclaimPolicy"},
		{"volumeBindingMode"},
	},
}

// changeNotes are the notes on changing the object from b to h; o is the
// reported change.
func changeNotes(env string, b, h entry, o Object) []Note {
	var notes []Note
	note := func(severity, kind, msg string) {
		notes = append(notes, Note{
			Severity:    severity,
			Kind:        kind,
			Environment: env,
			Component:   h.component,
			Object:      o.ID,
			Message:     clean(o.ID) + ": " + msg,
		})
	}
	bo, ho := b.obj.Object, h.obj.Object
	gk := h.id.GroupKind()

	for _, path := range immutableFields[gk] {
		if changed(bo, ho, path...) {
			note(SeverityWarning, NoteImmutableField, fmt.Sprintf(
				"%s is immutable: the change forces the object to be deleted and recreated", strings.Join(path, ".")))
		}
	}
	switch gk {
	case "/Service":
		bip, _ := nested(bo, "spec", "clusterIP").(string)
		hip, _ := nested(ho, "spec", "clusterIP").(string)
		if hip != "" && hip != bip {
			note(SeverityWarning, NoteImmutableField,
				"spec.clusterIP is immutable: the change forces the object to be deleted and recreated")
		}
	case "/PersistentVolumeClaim":
		bs, bok := quantity(nested(bo, "spec", "resources", "requests", "storage"))
		hs, hok := quantity(nested(ho, "spec", "resources", "requests", "storage"))
		if bok && hok && hs.Cmp(bs) < 0 {
			note(SeverityWarning, NoteImmutableField, fmt.Sprintf(
				"spec.resources.requests.storage shrinks from %s to %s: a claim cannot shrink, the object must be deleted and recreated",
				bs.String(), hs.String()))
		}
	case "/Secret", "/ConfigMap":
		if immutable(bo) {
			fields := []string{"data", "binaryData"}
			if gk == "/Secret" {
				fields = []string{"data", "stringData"}
			}
			var dataChanged bool
			if gk == "/Secret" {
				dataChanged = compareSecretValues(secretValues(bo), secretValues(ho)) != nil
			} else {
				dataChanged = changed(bo, ho, "data") || changed(bo, ho, "binaryData")
			}
			switch {
			case dataChanged:
				note(SeverityWarning, NoteImmutableField, fmt.Sprintf(
					"%s of an immutable %s changes: the object must be deleted and recreated",
					strings.Join(fields, "/"), h.id.Kind))
			case !immutable(ho):
				note(SeverityWarning, NoteImmutableField, fmt.Sprintf(
					"immutable: true cannot be unset on a %s: the object must be deleted and recreated", h.id.Kind))
			}
		}
	}

	if usesGPU(b.obj) || usesGPU(h.obj) {
		for _, path := range [][]string{{"spec", "template"}, {"spec", "jobTemplate", "spec", "template"}} {
			if changed(bo, ho, path...) {
				note(SeverityWarning, NoteGPURestart, fmt.Sprintf(
					"%s changes on a workload that uses %s: running GPU jobs on it restart", strings.Join(path, "."), gpuResource))
				break
			}
		}
	}

	if o.MovedFrom != "" {
		note(SeverityInfo, NoteMoved, fmt.Sprintf("moves from component %s to component %s",
			clean(o.MovedFrom), clean(h.component)))
	}
	if ba, ha := b.obj.GetAPIVersion(), h.obj.GetAPIVersion(); ba != ha {
		note(SeverityInfo, NoteAPIVersion, fmt.Sprintf("apiVersion changes from %s to %s", clean(ba), clean(ha)))
	}
	return notes
}

// gpuResource is the extended resource of NVIDIA GPUs.
const gpuResource = "nvidia.com/gpu"

// usesGPU reports whether a container of obj requests or limits GPUs.
func usesGPU(obj *unstructured.Unstructured) bool {
	for _, c := range manifest.Containers(obj) {
		for _, kind := range []string{"requests", "limits"} {
			if res, ok := nested(c.Fields, "resources", kind).(map[string]interface{}); ok {
				if _, found := res[gpuResource]; found {
					return true
				}
			}
		}
	}
	return false
}

// immutable reports whether a Secret or ConfigMap has immutable: true.
func immutable(obj map[string]interface{}) bool {
	b, _ := obj["immutable"].(bool)
	return b
}

// quantity parses a resource quantity, a string or a number.
func quantity(v interface{}) (resource.Quantity, bool) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case int64, float64, int:
		s = fmt.Sprint(v)
	default:
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return resource.Quantity{}, false
	}
	return q, true
}

// nested returns the value at path in obj, nil when there is none.
func nested(obj map[string]interface{}, path ...string) interface{} {
	var v interface{} = obj
	for _, k := range path {
		m, ok := v.(map[string]interface{})
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// changed reports whether the value at path differs between a and b, as
// JSON (so 1 and 1.0 are equal).
func changed(a, b map[string]interface{}, path ...string) bool {
	return jsonOf(nested(a, path...)) != jsonOf(nested(b, path...))
}

// compatibilityNotes are the warnings of head that base does not have
// (same rule and text), per environment.
func compatibilityNotes(base, head map[string][]Warning) []Note {
	var notes []Note
	for _, env := range unionKeys(base, head) {
		had := make(map[Warning]bool, len(base[env]))
		for _, w := range base[env] {
			had[w] = true
		}
		seen := make(map[Warning]bool)
		for _, w := range head[env] {
			if had[w] || seen[w] {
				continue
			}
			seen[w] = true
			notes = append(notes, Note{
				Severity:    SeverityWarning,
				Kind:        NoteCompatibility,
				Environment: env,
				Message:     fmt.Sprintf("the change introduces %s: %s", clean(w.Rule), clean(w.Text)),
			})
		}
	}
	return notes
}

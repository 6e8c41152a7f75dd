package render

import (
	"bytes"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
)

// patchRoot is where a component's objects and the kustomization that
// patches them sit in their in-memory filesystem.
const patchRoot = "/patch"

// applyPatches applies a component's patches, in order, to its rendered
// objects: each is one kustomize build (krusty, in memory, plugins off)
// of the objects as they are so far plus the patch, so a patch means
// exactly what it means to kustomize. A patch with a target that selects
// no object is an error, as kustomize already makes it for a
// strategic-merge patch naming an object that is not there: a patch that
// silently does nothing is a setting silently ignored.
func applyPatches(c *platform.Component, objs []*unstructured.Unstructured, warnings []string) ([]*unstructured.Unstructured, []string, error) {
	for _, p := range c.Patches {
		patched, printed, err := applyPatch(objs, p)
		if err != nil {
			return nil, nil, fmt.Errorf("patch at %s: %w", p.Position, err)
		}
		objs, warnings = patched, append(warnings, printed...)
	}
	return objs, warnings, nil
}

func applyPatch(objs []*unstructured.Unstructured, p platform.Patch) ([]*unstructured.Unstructured, []string, error) {
	var stream bytes.Buffer
	if err := manifest.Encode(&stream, objs); err != nil {
		return nil, nil, err
	}
	kp := types.Patch{Patch: p.Patch}
	if t := p.Target; t != nil {
		kp.Target = &types.Selector{
			ResId:              resid.ResId{Gvk: resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind}, Name: t.Name, Namespace: t.Namespace},
			LabelSelector:      t.LabelSelector,
			AnnotationSelector: t.AnnotationSelector,
		}
		m, err := resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory()).NewResMapFromBytes(stream.Bytes())
		if err != nil {
			return nil, nil, err
		}
		selected, err := m.Select(*kp.Target)
		if err != nil {
			return nil, nil, fmt.Errorf("target: %w", err)
		}
		if len(selected) == 0 {
			return nil, nil, fmt.Errorf("its target (%s) matches no object of the component", describeTarget(t))
		}
	}
	k, err := yaml.Marshal(types.Kustomization{
		TypeMeta:  types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Resources: []string{"objects.yaml"},
		Patches:   []types.Patch{kp},
	})
	if err != nil {
		return nil, nil, err
	}
	mem := filesys.MakeFsInMemory()
	if err := mem.MkdirAll(patchRoot); err != nil {
		return nil, nil, err
	}
	if err := mem.WriteFile(patchRoot+"/objects.yaml", stream.Bytes()); err != nil {
		return nil, nil, err
	}
	if err := mem.WriteFile(patchRoot+"/kustomization.yaml", k); err != nil {
		return nil, nil, err
	}

	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	krustyMu.Lock()
	defer krustyMu.Unlock()
	var m resmap.ResMap
	printed, err := captureOutput(func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("kustomize panicked: %v", r)
			}
		}()
		m, err = krusty.MakeKustomizer(opts).Run(mem, patchRoot)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	out := make([]*unstructured.Unstructured, 0, m.Size())
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out, warningLines(printed), nil
}

// describeTarget names a target's fields as the environment wrote them.
func describeTarget(t *platform.PatchTarget) string {
	var parts []string
	for _, f := range []struct{ name, value string }{
		{"group", t.Group}, {"version", t.Version}, {"kind", t.Kind}, {"name", t.Name},
		{"namespace", t.Namespace}, {"labelSelector", t.LabelSelector}, {"annotationSelector", t.AnnotationSelector},
	} {
		if f.value != "" {
			parts = append(parts, f.name+"="+f.value)
		}
	}
	if len(parts) == 0 {
		return "every object"
	}
	return strings.Join(parts, ", ")
}

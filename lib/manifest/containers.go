package manifest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Container is one container of an object.
type Container struct {
	// Path locates the container inside the object, as dot-separated keys
	// and [index] list indices: "spec.template.spec.containers[0]". Keys
	// that contain '.', '[', ']' or '"' are written ["quoted"].
	Path string
	// Name is the container's name, "" when it has none.
	Name string
	// Image is the container's image, as written.
	Image string
	// Fields is the container itself, shared with the object (not a copy),
	// for checks that read more than the image: env, args, resources.
	Fields map[string]interface{}
}

// containerLists are the names of the lists whose elements are containers.
var containerLists = map[string]bool{
	"containers":          true,
	"initContainers":      true,
	"ephemeralContainers": true,
}

// Containers returns every container of o, found generically: the elements
// with a string "image" of any list named containers, initContainers or
// ephemeralContainers anywhere in the object. So the Pod templates of
// Deployments, Jobs and CronJobs are found as well as the containers of
// custom resources such as KServe's ClusterServingRuntime or a Notebook.
// Map keys are visited in sorted order, so the result is deterministic.
func Containers(o *unstructured.Unstructured) []Container {
	var found []Container
	walkContainers(o.Object, nil, &found)
	return found
}

func walkContainers(v interface{}, path []string, found *[]Container) {
	switch v := v.(type) {
	case map[string]interface{}:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := append(path[:len(path):len(path)], keySegment(k))
			if list, ok := v[k].([]interface{}); ok && containerLists[k] {
				for i, el := range list {
					elPath := append(child[:len(child):len(child)], "["+strconv.Itoa(i)+"]")
					if c, ok := el.(map[string]interface{}); ok {
						if image, ok := c["image"].(string); ok {
							name, _ := c["name"].(string)
							*found = append(*found, Container{Path: joinPath(elPath), Name: name, Image: image, Fields: c})
						}
					}
					walkContainers(el, elPath, found)
				}
				continue
			}
			walkContainers(v[k], child, found)
		}
	case []interface{}:
		for i, el := range v {
			walkContainers(el, append(path[:len(path):len(path)], "["+strconv.Itoa(i)+"]"), found)
		}
	}
}

// keySegment renders a map key as a path segment.
func keySegment(k string) string {
	if k == "" || strings.ContainsAny(k, ".[]\"") {
		return "[" + strconv.Quote(k) + "]"
	}
	return k
}

func joinPath(segments []string) string {
	var b strings.Builder
	for i, s := range segments {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// SetImage sets the image of the container at path, a [Container.Path] as
// [Containers] returns it.
func SetImage(o *unstructured.Unstructured, path, image string) error {
	segments, err := splitPath(path)
	if err != nil {
		return fmt.Errorf("container %s: %w", path, err)
	}
	var v interface{} = o.Object
	for _, s := range segments {
		switch s := s.(type) {
		case string:
			m, ok := v.(map[string]interface{})
			if !ok {
				return fmt.Errorf("container %s: %q is not in an object", path, s)
			}
			if v, ok = m[s]; !ok {
				return fmt.Errorf("container %s: no field %q", path, s)
			}
		case int:
			l, ok := v.([]interface{})
			if !ok || s >= len(l) {
				return fmt.Errorf("container %s: no list element %d", path, s)
			}
			v = l[s]
		}
	}
	c, ok := v.(map[string]interface{})
	if !ok {
		return fmt.Errorf("container %s: not an object", path)
	}
	if _, ok := c["image"].(string); !ok {
		return fmt.Errorf("container %s: no image", path)
	}
	c["image"] = image
	return nil
}

// splitPath parses a container path into map keys (string) and list
// indices (int).
func splitPath(path string) ([]interface{}, error) {
	var segments []interface{}
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			if i == 0 || i == len(path)-1 {
				return nil, fmt.Errorf("malformed path")
			}
			i++
		case '[':
			end := strings.IndexByte(path[i:], ']')
			if i+1 < len(path) && path[i+1] == '"' {
				q, err := strconv.QuotedPrefix(path[i+1:])
				if err != nil {
					return nil, fmt.Errorf("malformed path: %w", err)
				}
				k, _ := strconv.Unquote(q)
				end = 1 + len(q)
				if i+end >= len(path) || path[i+end] != ']' {
					return nil, fmt.Errorf("malformed path: missing ]")
				}
				segments = append(segments, k)
				i += end + 1
				continue
			}
			if end < 0 {
				return nil, fmt.Errorf("malformed path: missing ]")
			}
			n, err := strconv.Atoi(path[i+1 : i+end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("malformed path: bad index %q", path[i+1:i+end])
			}
			segments = append(segments, n)
			i += end + 1
		default:
			end := strings.IndexAny(path[i:], ".[")
			if end < 0 {
				end = len(path) - i
			}
			segments = append(segments, path[i:i+end])
			i += end
		}
	}
	if len(segments) == 0 {
		return nil, fmt.Errorf("empty path")
	}
	return segments, nil
}

// JoinKey appends a map key to a field path as [Container.Path] writes
// paths: "spec.image", `data["katib-config.yaml"]`.
func JoinKey(path, key string) string {
	s := keySegment(key)
	if path == "" || strings.HasPrefix(s, "[") {
		return path + s
	}
	return path + "." + s
}

// JoinIndex appends a list index to a field path: "spec.containers[0]".
func JoinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

package apicheck

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	// MaxObjectBytes is the largest object, JSON-encoded, that plinth sends:
	// etcd refuses a request over its --max-request-bytes, 1.5 MiB by default
	// (go.etcd.io/etcd/server/v3/embed.DefaultMaxRequestBytes =
	// 1.5 * 1024 * 1024), and the API server's own limits are built around it
	// (k8s.io/apiserver/pkg/server.NewConfig: MaxRequestBodyBytes is 3 MiB,
	// twice "the 1.5MB etcd accepts", as a JSON body shrinks when stored as
	// protobuf). Custom resources and CustomResourceDefinitions are stored as
	// JSON (k8s.io/kubernetes pkg/controlplane/apiserver/apiextensions.go),
	// so for them the limit is exact, before the managedFields the server
	// adds; other built-in kinds are stored as protobuf, smaller, for which
	// it is conservative. Neither constant is importable without etcd's
	// server module, hence the number here.
	MaxObjectBytes = 3 * 1024 * 1024 / 2

	// MaxDataBytes is the most data a ConfigMap or a Secret may hold:
	// k8s.io/api/core/v1.MaxSecretSize, which the API server's validation
	// applies to the values of a Secret's data (decoded) and to those of a
	// ConfigMap's data and binaryData together.
	MaxDataBytes = corev1.MaxSecretSize
)

// Size returns the problems of o's size: its JSON encoding over
// [MaxObjectBytes], and for a v1 ConfigMap or Secret, its data over
// [MaxDataBytes] (a Secret's stringData counts as the data it becomes). It
// reads only the lengths of a Secret's values. The JSON is counted, not
// kept (see jsonLen).
func Size(o *unstructured.Unstructured) []Problem {
	var ps []Problem
	if p, ok := dataSize(o); ok {
		ps = append(ps, p)
	}
	n, err := jsonLen(o.Object)
	if err != nil {
		return append(ps, Problem{Message: fmt.Sprintf("cannot be encoded as JSON: %v", err)})
	}
	if n > MaxObjectBytes {
		ps = append(ps, Problem{
			Message: fmt.Sprintf("the object is %s as JSON, over the %s etcd accepts in one request by default: the API server cannot store it", bytes(n), bytes(MaxObjectBytes)),
			Hint:    "split it into smaller objects, or move its bulk out of the cluster's API (an image, a volume)",
		})
	}
	return ps
}

// dataSize reports a ConfigMap's or Secret's data over MaxDataBytes.
func dataSize(o *unstructured.Unstructured) (Problem, bool) {
	if o.GetAPIVersion() != "v1" || (o.GetKind() != "ConfigMap" && o.GetKind() != "Secret") {
		return Problem{}, false
	}
	sizes := map[string]int{}
	data, _ := o.Object["data"].(map[string]any)
	for k, v := range data {
		s, _ := v.(string)
		if o.GetKind() == "Secret" {
			sizes["data\x00"+k] = decodedLen(s)
		} else {
			sizes["data\x00"+k] = len(s)
		}
	}
	extra, field := "binaryData", "data and binaryData"
	if o.GetKind() == "Secret" {
		extra, field = "stringData", "data and stringData"
	}
	more, _ := o.Object[extra].(map[string]any)
	for k, v := range more {
		s, _ := v.(string)
		if extra == "stringData" {
			sizes["data\x00"+k] = len(s) // replaces the key of data
		} else {
			sizes["binaryData\x00"+k] = decodedLen(s)
		}
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total <= MaxDataBytes {
		return Problem{}, false
	}
	return Problem{
		Path:    "data",
		Message: fmt.Sprintf("%s hold %s, over the %s a %s may hold (k8s.io/api/core/v1.MaxSecretSize)", field, bytes(total), bytes(MaxDataBytes), o.GetKind()),
		Hint:    fmt.Sprintf("split it into several %ss, or ship the data another way (an image, a volume)", o.GetKind()),
	}, true
}

// decodedLen is the length of the bytes a base64 string stands for.
func decodedLen(s string) int {
	n := base64.StdEncoding.DecodedLen(len(s))
	return n - (len(s) - len(strings.TrimRight(s, "=")))
}

// bytes writes a size in bytes and MiB: "1623001 bytes (1.55 MiB)".
func bytes(n int) string {
	return fmt.Sprintf("%d bytes (%.2f MiB)", n, float64(n)/(1<<20))
}

// jsonLen is the length of v's JSON encoding as json.Marshal writes it,
// counted by a writer: json.Encoder reuses its buffer, so nothing of v's
// size is kept.
func jsonLen(v any) (int, error) {
	var n byteCount
	if err := json.NewEncoder(&n).Encode(v); err != nil {
		return 0, err
	}
	return int(n) - 1, nil // Encode ends the value with a newline
}

// byteCount is a writer that only counts.
type byteCount int

func (c *byteCount) Write(p []byte) (int, error) {
	*c += byteCount(len(p))
	return len(p), nil
}

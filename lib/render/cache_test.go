package render

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/source"
)

// memCache is a render.Cache in memory that counts hits.
type memCache struct {
	mu         sync.Mutex
	entries    map[string][]byte
	hits, puts int
}

func (c *memCache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, ok := c.entries[key]
	if ok {
		c.hits++
	}
	return data, ok
}

func (c *memCache) Put(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = data
	c.puts++
}

// TestComponentCache: a second render of prod takes every component from
// the cache and produces the same files as a render without it.
func TestComponentCache(t *testing.T) {
	dir, lock := vendorFixtures(t)
	cache := &memCache{entries: map[string][]byte{}}
	opts := Options{VendorDir: dir, Lock: lock, Cache: cache, Build: "test"}
	render := func(opts Options) map[string][]byte {
		r, err := Render(context.Background(), evaluateExample("prod"), opts)
		if err != nil {
			t.Fatal(err)
		}
		files, err := Files(r)
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	comps, err := evaluateExample("prod").Catalog()
	if err != nil {
		t.Fatal(err)
	}
	n := len(comps)
	cold := render(opts)
	if cache.puts != n || cache.hits != 0 {
		t.Fatalf("first render: %d puts, %d hits", cache.puts, cache.hits)
	}
	for key, data := range cache.entries {
		if _, _, err := decodeCached(data); err != nil {
			t.Fatalf("entry %s cannot be read back: %v", key, err)
		}
	}
	warm := render(opts)
	if cache.hits != n || cache.puts != n {
		t.Fatalf("second render: %d hits, %d puts; want %d hits and no new entry", cache.hits, cache.puts, n)
	}
	plain := render(Options{VendorDir: dir, Lock: lock})
	for name := range plain {
		if !bytes.Equal(cold[name], plain[name]) || !bytes.Equal(warm[name], plain[name]) {
			t.Errorf("%s differs with the cache", name)
		}
	}
}

// TestCachedRoundTrip: what encodeCached writes, decodeCached reads back
// as the same objects and warnings (a cache entry that cannot be read
// would only ever cost a full render, silently).
func TestCachedRoundTrip(t *testing.T) {
	objs := evaluateAndRender(t, "dev")
	data, err := encodeCached(objs, []string{"chart x is deprecated", "two\nlines"})
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := decodeCached(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 2 || warnings[1] != "two\nlines" {
		t.Errorf("warnings: %q", warnings)
	}
	if !bytes.Equal(canonical(t, got), canonical(t, objs)) || len(got) != len(objs) || len(objs) == 0 {
		t.Errorf("objects differ after the round trip: %d vs %d", len(got), len(objs))
	}
}

func evaluateAndRender(t *testing.T, name string) []*unstructured.Unstructured {
	t.Helper()
	r, err := Render(context.Background(), evaluateExample(name), Options{Lock: &source.Lock{Version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, c := range r.Components {
		objs = append(objs, c.Objects...)
	}
	return objs
}

package render

import (
	"bytes"
	"context"
	"sync"
	"testing"
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
	cold := render(opts)
	if cache.puts != 9 || cache.hits != 0 {
		t.Fatalf("first render: %d puts, %d hits", cache.puts, cache.hits)
	}
	warm := render(opts)
	if cache.hits != 9 {
		t.Fatalf("second render: %d hits, want 9", cache.hits)
	}
	plain := render(Options{VendorDir: dir, Lock: lock})
	for name := range plain {
		if !bytes.Equal(cold[name], plain[name]) || !bytes.Equal(warm[name], plain[name]) {
			t.Errorf("%s differs with the cache", name)
		}
	}
}

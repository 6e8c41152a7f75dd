package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-platform/plinth/lib/fixtures"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
)

// vendorFixtures vendors the fixture sources of prod and okd once per
// test binary (package fixtures), skipping the test without them.
func vendorFixtures(t testing.TB) (string, *source.Lock) {
	t.Helper()
	return fixtures.Vendor(t, catalogSources, "prod", "okd")
}

// catalogSources lists the sources an environment's catalog needs.
func catalogSources(p *platform.Platform) ([]source.Source, error) {
	comps, err := p.Catalog()
	if err != nil {
		return nil, err
	}
	return Sources(comps), nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	fixtures.Cleanup()
	os.Exit(code)
}

// evaluateExample evaluates one of the repository's example environments.
func evaluateExample(name string) *platform.Platform {
	env, err := platform.Resolve(filepath.Join("..", ".."), name)
	if err != nil {
		panic(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil {
		panic(err)
	}
	if !p.Valid() {
		panic(fmt.Sprint(p.Findings))
	}
	return p
}

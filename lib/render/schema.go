package render

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v3/pkg/chart"
)

// checkSchemas refuses a chart whose values.schema.json, or a subchart's,
// would make Helm's validator load another document. Helm 3.22 compiles
// the schema with loaders that read any local file ("$ref":
// "file:///dev/zero", or a relative ref, which resolves against
// file:///values.schema.json to the root directory) and fetch http(s) URLs
// through a transport of their own, which the sandbox's refusing default
// transport does not cover. Compiling with the same library and base URL
// but loaders that refuse finds exactly the references Helm would load,
// before it does. urn: references Helm resolves to a permissive schema
// without I/O; so does this. Disabled subcharts are checked too.
func checkSchemas(c *chart.Chart) error {
	if c.Schema != nil {
		if err := compileOffline(c.Schema); err != nil {
			return fmt.Errorf("%s/values.schema.json: %w", c.ChartFullPath(), err)
		}
	}
	for _, dep := range c.Dependencies() {
		if err := checkSchemas(dep); err != nil {
			return err
		}
	}
	return nil
}

func compileOffline(schemaJSON []byte) error {
	schema, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(offlineLoader{})
	if err := c.AddResource("file:///values.schema.json", schema); err != nil {
		return err
	}
	_, err = c.Compile("file:///values.schema.json")
	return err
}

// offlineLoader is asked for every document a schema refers to that is
// neither itself nor a JSON Schema metaschema.
type offlineLoader struct{}

func (offlineLoader) Load(url string) (any, error) {
	if strings.HasPrefix(url, "urn:") {
		return true, nil // Helm's permissive fallback for an unresolved URN
	}
	return nil, fmt.Errorf("refers to %s: render loads nothing from outside the chart", url)
}

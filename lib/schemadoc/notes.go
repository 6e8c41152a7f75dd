package schemadoc

// sectionNotes are hand-written Markdown that docs/environment.md adds
// after the table of a top-level field: what the schema's comments and a
// table of fields cannot show, such as how layers combine.
var sectionNotes = map[string]string{
	"objects": "### Keyed objects and layering\n\n" +
		"Each object sits under a key of its own. The key is yours to choose (the object's name is a good one) and never reaches the cluster. " +
		"CUE unifies structs field by field, so every file of an environment and every layer above it (`environments/common.cue`) can add objects, " +
		"and a layer can add fields to an object another layer keys:\n\n" +
		"```cue\n" +
		"// environments/common.cue: every environment gets it\n" +
		"objects: \"platform-info\": {\n" +
		"\tapiVersion: \"v1\"\n" +
		"\tkind:       \"ConfigMap\"\n" +
		"\tmetadata: {name: \"platform-info\", namespace: \"default\"}\n" +
		"}\n" +
		"\n" +
		"// environments/prod/objects.cue\n" +
		"objects: \"platform-info\": data: environment: \"prod\"\n" +
		"objects: \"ml-tools\": {apiVersion: \"v1\", kind: \"Namespace\", metadata: name: \"ml-tools\"}\n" +
		"```\n\n" +
		"The component \"objects\" lists them in the order of their keys (render sorts every component's objects into apply order anyway). " +
		"An object's identity is its apiVersion's group, its kind, namespace and name, whatever its key: the same object under two keys is an error, " +
		"`OBJECT-DUP`, naming both keys and the files that write them.\n\n" +
		"The list form, `objects: [{...}, {...}]`, is still read, with warning `OBJECT-1`: no second file or layer can add to a list, because CUE " +
		"unifies two lists element by element (`conflicting values \"Secret\" and \"ConfigMap\"`). To convert, put each element under a key: " +
		"`objects: [{apiVersion: \"v1\", kind: \"Namespace\", metadata: name: \"ml-tools\"}]` becomes " +
		"`objects: \"ml-tools\": {apiVersion: \"v1\", kind: \"Namespace\", metadata: name: \"ml-tools\"}`.\n\n",
}

package netrc

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const text = `# Nexus
machine nexus.bank.example login ci password "s3cret pass\"word"
machine git.bank.example
  login deploy
  password tok3n
  account ignored

macdef init
cd /pub
machine not.an.entry password inside-the-macro

machine Charts.Bank.Example login u password p port 8443
default login anonymous password guest@
machine after.default login x password y
`
	got, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"nexus.bank.example", "ci", `s3cret pass"word`},
		{"git.bank.example", "deploy", "tok3n"},
		{"Charts.Bank.Example", "u", "p"},
		{"after.default", "x", "y"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}

	for _, bad := range []string{`machine x password "open`, "machine x login"} {
		if _, err := Parse(bad); err == nil || strings.Contains(err.Error(), "open") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestLookup(t *testing.T) {
	f := &File{Entries: []Entry{
		{"nexus.bank.example", "ci", "one"},
		{"nexus.bank.example:8443", "ci", "two"},
		{"127.0.0.1", "test", "three"},
		{"nopass.example", "u", ""},
	}}
	for raw, want := range map[string]string{
		"https://NEXUS.bank.example./repository/helm": "one",
		"https://nexus.bank.example:8443/x":           "one", // the host alone matches first
		"https://127.0.0.1:39999/index.yaml":          "three",
		"https://other.example/":                      "",
		"https://nopass.example/":                     "",
	} {
		u, _ := url.Parse(raw)
		e, ok := f.Lookup(u)
		if e.Password != want || ok != (want != "") {
			t.Errorf("%s: %v %v", raw, e, ok)
		}
	}
	if s := fmt.Sprintf("%v %#v %+v", f.Entries[0], f.Entries[0], f.Entries[0]); strings.Contains(s, "one") {
		t.Errorf("printed a password: %s", s)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	f, err := Read(filepath.Join(dir, "missing"))
	if err != nil || len(f.Entries) != 0 {
		t.Errorf("missing file: %v %v", f, err)
	}
	p := filepath.Join(dir, "netrc")
	os.WriteFile(p, []byte(`machine h password "x`), 0o600)
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("bad file: %v", err)
	}
	t.Setenv("NETRC", p)
	if DefaultPath() != p {
		t.Errorf("DefaultPath %s", DefaultPath())
	}
	t.Setenv("NETRC", "")
	t.Setenv("HOME", dir)
	if DefaultPath() != filepath.Join(dir, ".netrc") {
		t.Errorf("DefaultPath %s", DefaultPath())
	}
}

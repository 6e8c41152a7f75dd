// Package netrc reads the login and password for a host from a .netrc
// file, as curl, git (through libcurl) and the go command do: the file
// users already keep their Nexus credentials in.
//
// It is written here rather than imported: Go's own parser is internal to
// the go command (cmd/go/internal/auth), no module plinth builds with
// provides one, and the format is a few tokens.
//
// The format (GNU inetutils' and curl's): whitespace-separated tokens;
// "machine NAME" starts an entry, "login", "password" and "account" take a
// value, "macdef NAME" skips a macro up to the next empty line, and a line
// whose first token starts with "#" is a comment. A value may be written
// in double quotes with \" and \\ escapes (curl's extension), for a password
// with spaces. Other tokens are skipped. The "default" entry, which curl uses for any host, is
// ignored: plinth would send that one password to every host a chart index
// points to.
package netrc

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Entry is one machine's credentials.
type Entry struct {
	Machine, Login, Password string
}

// String names the entry without its password.
func (e Entry) String() string { return "machine " + e.Machine + " login " + e.Login }

// GoString keeps %#v from printing the password.
func (e Entry) GoString() string { return "netrc.Entry{" + e.String() + "}" }

// File is a parsed netrc file.
type File struct {
	// Path is where it was read from, for messages.
	Path    string
	Entries []Entry
}

// DefaultPath is $NETRC when set, else ~/.netrc (curl's and the go
// command's conventions); "" when there is no home directory.
func DefaultPath() string {
	if p := os.Getenv("NETRC"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".netrc")
}

// Read parses the file at path. A file that does not exist is an empty
// File, not an error: most users have none.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{Path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netrc: %w", err)
	}
	entries, err := Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("netrc %s: %w", path, err)
	}
	return &File{Path: path, Entries: entries}, nil
}

// Parse parses a netrc file's text. Its errors never quote a value.
func Parse(text string) ([]Entry, error) {
	var (
		entries []Entry
		cur     *Entry
		ignore  bool // inside the default entry
	)
	toks, err := tokens(text)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		value := func() (string, error) {
			if i+1 >= len(toks) {
				return "", fmt.Errorf("line %d: %q without a value", t.line, t.text)
			}
			i++
			return toks[i].text, nil
		}
		switch t.text {
		case "machine":
			name, err := value()
			if err != nil {
				return nil, err
			}
			entries = append(entries, Entry{Machine: name})
			cur, ignore = &entries[len(entries)-1], false
		case "default":
			cur, ignore = nil, true
		case "login", "password", "account":
			v, err := value()
			if err != nil {
				return nil, err
			}
			switch {
			case ignore || cur == nil:
			case t.text == "login":
				cur.Login = v
			case t.text == "password":
				cur.Password = v
			}
		}
		// Other tokens are skipped, as curl does.
	}
	return entries, nil
}

type token struct {
	text string
	line int
}

// tokens splits text into tokens, dropping comments and macdef bodies.
func tokens(text string) ([]token, error) {
	var out []token
	lines := strings.Split(text, "\n")
	for n := 0; n < len(lines); n++ {
		line := strings.TrimRight(lines[n], "\r")
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for rest := line; ; {
			rest = strings.TrimLeft(rest, " \t")
			if rest == "" {
				break
			}
			var tok string
			if rest[0] == '"' {
				var b strings.Builder
				i := 1
				for ; i < len(rest) && rest[i] != '"'; i++ {
					if rest[i] == '\\' && i+1 < len(rest) {
						i++
					}
					b.WriteByte(rest[i])
				}
				if i == len(rest) {
					return nil, fmt.Errorf("line %d: unterminated quote", n+1)
				}
				tok, rest = b.String(), rest[i+1:]
			} else {
				end := strings.IndexAny(rest, " \t")
				if end < 0 {
					end = len(rest)
				}
				tok, rest = rest[:end], rest[end:]
			}
			out = append(out, token{tok, n + 1})
			if tok == "macdef" && len(out) >= 1 {
				// The macro's name is the rest of this line; its body runs
				// to the next empty line.
				out = out[:len(out)-1]
				for n+1 < len(lines) && strings.TrimSpace(lines[n+1]) != "" {
					n++
				}
				break
			}
		}
	}
	return out, nil
}

// Lookup returns the entry for u's host: the first whose machine is the
// host (case-insensitive), or the host and port as written in the URL.
// Only an entry with a password counts.
func (f *File) Lookup(u *url.URL) (Entry, bool) {
	if f == nil {
		return Entry{}, false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	for _, e := range f.Entries {
		m := strings.ToLower(e.Machine)
		if (m == host || m == strings.ToLower(u.Host)) && e.Password != "" {
			return e, true
		}
	}
	return Entry{}, false
}

// Passwords lists every password of the file, for scrubbing messages.
func (f *File) Passwords() []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, e := range f.Entries {
		if e.Password != "" {
			out = append(out, e.Password)
		}
	}
	return out
}

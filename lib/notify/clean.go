package notify

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length bounds of an event's fields, in characters.
const (
	maxMessage = 2000
	maxField   = 200 // environment, severity, reason, revision
	maxURL     = 2000
)

// clean makes s safe to show on one line: invalid UTF-8 replaced, line
// breaks and tabs turned into spaces, runs of spaces collapsed, control
// and bidirectional-formatting characters removed, and at most max
// characters, the last an ellipsis when cut.
func clean(s string, max int) string {
	cut := false
	// A character is at most 4 bytes: leave as much again for removed ones.
	if limit := 8 * max; len(s) > limit {
		for limit > 0 && !utf8.RuneStart(s[limit]) {
			limit--
		}
		s, cut = s[:limit], true
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if !unicode.IsSpace(r) && (unicode.IsControl(r) || isBidi(r)) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if !cut && utf8.RuneCountInString(s) <= max {
		return s
	}
	if r := []rune(s); len(r) > max-1 {
		s = strings.TrimRight(string(r[:max-1]), " ")
	}
	return s + "…"
}

// isBidi reports whether r overrides or isolates the text direction, or is
// an invisible mark: such characters can make text read other than it is.
func isBidi(r rune) bool {
	// Embeddings and overrides, isolates, direction marks, the zero-width
	// space and no-break space (the joiners are left: scripts need them).
	return r >= '\u202A' && r <= '\u202E' ||
		r >= '\u2066' && r <= '\u2069' ||
		r == '\u200E' || r == '\u200F' || r == '\u061C' ||
		r == '\u200B' || r == '\uFEFF'
}

// webURL returns s if it is an absolute http(s) URL no longer than maxURL
// and safe to show, else "".
func webURL(s string) string {
	if s == "" || len(s) > maxURL || clean(s, maxURL) != s || strings.ContainsAny(s, " <>\"|") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// slackEscape escapes the characters Slack's markup gives meaning to
// (https://api.slack.com/reference/surfaces/formatting#escaping), so text
// cannot mention (<!channel>) or link.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// scrubber removes the secret parts of a target's URL from text.
type scrubber struct {
	secrets []string
}

// minSecret is the shortest string scrubbed: a shorter path segment or
// query value is no token, and removing it would garble the text.
const minSecret = 6

func newScrubber(raw string, u *url.URL) scrubber {
	var secrets []string
	add := func(ss ...string) {
		for _, s := range ss {
			if len(s) >= minSecret {
				secrets = append(secrets, s)
			}
			if un, err := url.PathUnescape(s); err == nil && un != s && len(un) >= minSecret {
				secrets = append(secrets, un)
			}
		}
	}
	add(raw, u.String(), u.Path, u.EscapedPath(), u.RawQuery, u.Fragment, u.EscapedFragment())
	add(strings.Split(u.EscapedPath(), "/")...)
	for k, vs := range u.Query() {
		add(k)
		add(vs...)
	}
	if u.User != nil {
		add(u.User.String(), u.User.Username())
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	// Longest first, so a part inside a longer secret does not break it up.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	return scrubber{secrets: slices.Compact(secrets)}
}

func (s scrubber) scrub(text string) string {
	for _, sec := range s.secrets {
		text = strings.ReplaceAll(text, sec, "<redacted>")
	}
	return text
}

// err returns err with the secret parts of the URL removed from its text.
// The request's URL, which *url.Error quotes, is left out.
func (s scrubber) err(err error) error {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err
	}
	msg := s.scrub(err.Error())
	if msg == err.Error() {
		return &scrubbedError{msg: msg, err: err}
	}
	// The wrapped errors show the secret: keep only what callers test for.
	var kept error
	for _, target := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			kept = target
		}
	}
	return &scrubbedError{msg: msg, err: kept}
}

// scrubbedError is an error whose text has been scrubbed.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

package notify

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/plinth-platform/plinth/lib/safetext"
)

// Length bounds of an event's fields, in characters.
const (
	maxMessage = 2000
	maxField   = 200 // environment, severity, reason, revision
	maxURL     = 2000
)

// clean makes s one line of at most max characters for a chat message
// (package safetext's Compact: control and invisible characters removed,
// white space collapsed, "…" when cut).
func clean(s string, max int) string { return safetext.Compact(s, max) }

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
// cannot mention (<!channel>) or link. It stays here, not in package
// safetext: these three entities are Slack's own format (its mrkdwn is
// not Markdown, and it reads no other escape).
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

package notify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/plinth-platform/plinth/lib/drift"
)

// SchemaVersion is the version of the JSON event (README.md). It changes
// only when a field changes meaning or disappears.
const SchemaVersion = 1

// Alertmanager alert names (README.md).
const (
	AlertDrift           = "PlinthDrift"
	AlertReconcileFailed = "PlinthReconcileFailed"
)

// event is an Event cleaned for sending.
type event struct {
	environment, severity, reason, message, revision, url string
	drift                                                 *drift.Summary
	time                                                  time.Time
}

func cleanEvent(e Event, now time.Time) event {
	c := event{
		environment: clean(e.Environment, maxField),
		severity:    strings.ToLower(clean(e.Severity, maxField)),
		reason:      clean(e.Reason, maxField),
		message:     clean(e.Message, maxMessage),
		revision:    clean(e.Revision, maxField),
		url:         webURL(e.URL),
		drift:       e.Drift,
		time:        e.Time,
	}
	if c.severity == "" {
		switch c.reason {
		case ReasonDriftDetected:
			c.severity = SeverityWarning
		case ReasonReconcileFailed:
			c.severity = SeverityError
		default:
			c.severity = SeverityInfo
		}
	}
	if c.time.IsZero() {
		c.time = now
	}
	c.time = c.time.UTC().Truncate(time.Second)
	return c
}

// encode returns the request body of e in format.
func encode(format string, e Event, now time.Time) ([]byte, error) {
	c := cleanEvent(e, now)
	var v any
	switch format {
	case FormatJSON:
		v = jsonPayload(c)
	case FormatSlack:
		v = slackPayload(c)
	case FormatAlertmanager:
		v = alertmanagerPayload(c)
	default:
		return nil, fmt.Errorf("unknown format %q", clean(format, 40))
	}
	return json.Marshal(v)
}

// counts is "3 drifted, 1 missing": the non-zero counts of s.
func counts(s drift.Summary) string {
	var parts []string
	for _, c := range []struct {
		n    int
		name string
	}{{s.Drifted, drift.StateDrifted}, {s.Missing, drift.StateMissing}, {s.Unmanaged, drift.StateUnmanaged}, {s.Stale, drift.StateStale}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// headline is the event in a few words: "drift: 3 drifted, 1 missing", or
// its reason and message.
func (c event) headline() string {
	if c.drift != nil {
		return "drift: " + counts(*c.drift)
	}
	switch {
	case c.reason == "" && c.message == "":
		return "event"
	case c.reason == "":
		return c.message
	case c.message == "":
		return c.reason
	}
	return c.reason + ": " + c.message
}

// JSON event.

type jsonEvent struct {
	SchemaVersion int            `json:"schemaVersion"`
	Environment   string         `json:"environment"`
	Severity      string         `json:"severity"`
	Reason        string         `json:"reason"`
	Message       string         `json:"message"`
	Revision      string         `json:"revision,omitempty"`
	Drift         *drift.Summary `json:"drift,omitempty"`
	Time          string         `json:"time"`
	URL           string         `json:"url,omitempty"`
}

func jsonPayload(c event) jsonEvent {
	return jsonEvent{
		SchemaVersion: SchemaVersion,
		Environment:   c.environment,
		Severity:      c.severity,
		Reason:        c.reason,
		Message:       c.message,
		Revision:      c.revision,
		Drift:         c.drift,
		Time:          c.time.Format(time.RFC3339),
		URL:           c.url,
	}
}

// Slack message.

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks,omitempty"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackSectionMax is the most characters of a section block's text.
const slackSectionMax = 3000

func slackPayload(c event) slackMessage {
	// Every piece is cleaned, then escaped once here.
	line := ""
	if c.environment != "" {
		line = "[" + slackEscapeMax(c.environment, maxField) + "] "
	}
	line += slackEscapeMax(c.headline(), maxMessage)
	if c.revision != "" {
		line += " (rev " + slackEscapeMax(shortRevision(c.revision), maxField) + ")"
	}
	link := ""
	if c.url != "" {
		link = " <" + slackEscape(c.url) + "|report>"
	}
	severity := strings.ToUpper(slackEscapeMax(c.severity, maxField))
	msg := slackMessage{Text: severity + " " + line + link}

	top := "*" + severity + "* " + line
	if utf8.RuneCountInString(top+link) <= slackSectionMax {
		top += link
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: top}})
	if c.drift != nil && c.message != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: slackEscapeMax(c.message, maxMessage)}})
	}
	context := []string{c.time.Format(time.RFC3339)}
	if c.reason != "" {
		context = append([]string{slackEscapeMax(c.reason, maxField)}, context...)
	}
	if c.revision != "" {
		context = append(context, "revision "+slackEscapeMax(c.revision, maxField))
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: strings.Join(context, " | ")}}})
	return msg
}

// slackEscapeMax escapes s for Slack and cuts the result to at most max
// characters, never inside an escape.
func slackEscapeMax(s string, max int) string {
	e := slackEscape(s)
	if utf8.RuneCountInString(e) <= max {
		return e
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece := slackEscape(string(r))
		if n+utf8.RuneCountInString(piece) > max-1 {
			break
		}
		b.WriteString(piece)
		n += utf8.RuneCountInString(piece)
	}
	return strings.TrimRight(b.String(), " ") + "…"
}

// shortRevision shortens a commit hash to 7 characters, as git does.
func shortRevision(rev string) string {
	if len(rev) < 12 || strings.IndexFunc(rev, func(r rune) bool { return !unicode.Is(unicode.ASCII_Hex_Digit, r) }) >= 0 {
		return rev
	}
	return rev[:7]
}

// Alertmanager alerts: the v2 API's postableAlerts.

type alertmanagerAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// alertName maps a reason to the alert it fires or resolves.
func alertName(reason string) (name string, resolve bool) {
	switch reason {
	case ReasonDriftDetected:
		return AlertDrift, false
	case ReasonDriftResolved:
		return AlertDrift, true
	case ReasonReconcileFailed:
		return AlertReconcileFailed, false
	case ReasonApplied:
		return AlertReconcileFailed, true
	}
	// Another reason fires "Plinth<Reason>", letters and digits only.
	word := strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, reason)
	if word == "" {
		word = "Event"
	}
	return "Plinth" + word, false
}

func alertmanagerPayload(c event) []alertmanagerAlert {
	name, resolve := alertName(c.reason)
	annotations := map[string]string{}
	annotations["summary"] = c.message
	if c.message == "" {
		annotations["summary"] = c.headline()
	}
	if c.revision != "" {
		annotations["revision"] = c.revision
	}
	if c.url != "" {
		annotations["report"] = c.url
	}
	if c.drift != nil {
		annotations["drift"] = counts(*c.drift)
	}
	at := c.time.Format(time.RFC3339)
	alert := func(severity string) alertmanagerAlert {
		a := alertmanagerAlert{
			Labels: map[string]string{
				"alertname":   name,
				"environment": c.environment,
				"severity":    severity,
			},
			Annotations:  annotations,
			StartsAt:     at,
			GeneratorURL: c.url,
		}
		if resolve {
			a.EndsAt = at
		}
		return a
	}
	if !resolve {
		return []alertmanagerAlert{alert(c.severity)}
	}
	// An alert is identified by all its labels: resolve it whatever
	// severity it fired with.
	severities := []string{SeverityInfo, SeverityWarning, SeverityError}
	if !slices.Contains(severities, c.severity) {
		severities = append(severities, c.severity)
	}
	alerts := make([]alertmanagerAlert, 0, len(severities))
	for _, s := range severities {
		alerts = append(alerts, alert(s))
	}
	return alerts
}

// Package notify tells platform owners about drift and failed reconciles
// through webhooks: plinth's own JSON event, a Slack incoming webhook, or
// Alertmanager's v2 API. README.md documents each payload; the JSON one is
// a stable contract (schemaVersion 1).
//
// A Notifier sends one Event to one Target (Send) or to many at once
// (SendAll). It retries what may succeed later — network errors, 429 and
// 5xx, honouring Retry-After — with a jittered exponential backoff, and
// gives up at once on any other status.
//
// Webhook URLs are credentials: Slack and Alertmanager receivers often
// carry a token in the path or query. Errors name a target by its Name and
// its URL's scheme and host only; no error, and nothing else the package
// returns, holds the URL's path, query or user info.
//
// Event text comes from clusters and git: it is cleaned before it is sent
// (control and bidirectional-override characters removed, one line,
// lengths bounded), and escaped for Slack's markup, so that it cannot
// mention channels or forge links.
package notify

package policy

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// urlRe finds the start of a URL a workload would connect to. Only these
// schemes are looked at; object-store schemes such as s3:// and gs:// name
// buckets, not hosts, and are left out.
var urlRe = regexp.MustCompile(`(?i)\b(?:https?|oci|git|ssh|git\+ssh|git\+https?)://`)

// hostnameRe is a DNS name; hosts that are not (templates such as
// $(POD_IP) or {{ .host }}, wildcards) are skipped.
var hostnameRe = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*$`)

// staticAssets are the extensions of ConfigMap data keys that hold files
// served to browsers (logos, themes, pages), whose URLs the browser may
// follow but the workload does not connect to.
var staticAssets = []string{".svg", ".css", ".html", ".htm", ".md"}

// linkKeys name values that are links for people (a dashboard's
// documentation links) or XML namespace names, not endpoints.
var linkKeys = map[string]bool{"link": true, "links": true, "href": true, "homepage": true, "docs": true, "documentation": true}

// urlHosts returns the hosts of the URLs in s, lower-cased, each once, in
// order of appearance. URLs that are links for people are skipped: the
// value of a key named link, href, homepage, docs or documentation, an XML
// namespace (xmlns), a Markdown link target.
func urlHosts(s string) []string {
	var hosts []string
	seen := map[string]bool{}
	for _, loc := range urlRe.FindAllStringIndex(s, -1) {
		if isLink(s[:loc[0]]) {
			continue
		}
		rest := s[loc[1]:]
		end := strings.IndexAny(rest, "/?#\\ \t\r\n\"'`<>()[]{},;|")
		if strings.HasPrefix(rest, "[") { // IPv6 literal
			end = strings.IndexByte(rest, ']') + 1
		} else if at := strings.IndexByte(rest, '@'); at >= 0 && (end < 0 || at < end) {
			// user info: the host follows the last '@' of the authority
			if end < 0 {
				end = len(rest)
			}
			authority := rest[:end]
			rest = authority[strings.LastIndexByte(authority, '@')+1:]
			end = len(rest)
		}
		if end < 0 {
			end = len(rest)
		}
		host := hostOf(rest[:end])
		if host == "" || seen[host] {
			continue
		}
		seen[host] = true
		hosts = append(hosts, host)
	}
	return hosts
}

// isLink reports whether a URL that follows before is a link for people.
func isLink(before string) bool {
	if strings.HasSuffix(before, "](") {
		return true // Markdown
	}
	key := strings.TrimRight(before, "\"' \t")
	if !strings.HasSuffix(key, ":") && !strings.HasSuffix(key, "=") {
		return false
	}
	key = strings.TrimRight(key[:len(key)-1], "\"' \t")
	i := len(key)
	for i > 0 && (isAlnum(key[i-1]) || key[i-1] == '_' || key[i-1] == '-' || key[i-1] == ':') {
		i--
	}
	k := strings.ToLower(key[i:])
	return linkKeys[k] || strings.HasPrefix(k, "xmlns")
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// hostOf returns the host of a URL's authority (without user info), "" when
// it is not a host name or an IP address.
func hostOf(authority string) string {
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return ""
		}
		a, err := netip.ParseAddr(authority[1:end])
		if err != nil {
			return ""
		}
		return a.String()
	}
	host := authority
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if !hostnameRe.MatchString(host) {
		return ""
	}
	return host
}

// internal reports whether host is inside the cluster or the node:
// a name without a dot (a Service in the same namespace, localhost), a name
// under .svc, .svc.cluster.local, .cluster.local or .localhost, a
// "<service>.<namespace>" name whose namespace is one of the set's (or
// default, kube-system, kube-public), and IP addresses that are loopback,
// private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local or
// unspecified (0.0.0.0, a listen address).
func (c *checker) internal(host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified()
	}
	if !strings.Contains(host, ".") {
		return true
	}
	for _, suffix := range []string{".svc", ".svc.cluster.local", ".cluster.local", ".localhost"} {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	labels := strings.Split(host, ".")
	return len(labels) == 2 && c.namespaces[labels[1]]
}

// allowedHost is one entry of Facts.AllowedEgress.
type allowedHost struct {
	host       string
	subdomains bool // ".bank.local" or "*.bank.local"
}

// parseAllowed normalises AllowedEgress: lower case, without scheme, port
// and path.
func parseAllowed(entries []string) []allowedHost {
	var allowed []allowedHost
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		if _, rest, ok := strings.Cut(e, "://"); ok {
			e = rest
		}
		e, _, _ = strings.Cut(e, "/")
		if i := strings.LastIndexByte(e, ':'); i >= 0 && !strings.HasSuffix(e, "]") {
			e = e[:i]
		}
		e = strings.TrimSuffix(e, ".")
		a := allowedHost{host: e}
		if strings.HasPrefix(e, "*.") || strings.HasPrefix(e, ".") {
			a = allowedHost{host: strings.TrimPrefix(strings.TrimPrefix(e, "*"), "."), subdomains: true}
		}
		if a.host != "" {
			allowed = append(allowed, a)
		}
	}
	return allowed
}

func (c *checker) allowedEgress(host string) bool {
	for _, a := range c.allowed {
		if a.subdomains && strings.HasSuffix(host, "."+a.host) || !a.subdomains && host == a.host {
			return true
		}
	}
	return false
}

// egress reports, in an air-gapped environment, the hosts of URLs in the
// scanned texts (ConfigMap data, env values, args, command; comments
// blanked out) that are neither cluster-internal nor allowed. To keep false
// positives out, only URLs with a scheme count (http, https, oci, git,
// ssh, git+ssh, git+http, git+https), not bare host names or host:port
// pairs; links for people are skipped (see urlHosts), and so are
// ConfigMap keys that hold browser assets (.svg, .css, .html, .htm, .md)
// ConfigMap keys that hold scripts (see isScript), and the data of
// Grafana dashboards (ConfigMaps labelled
// grafana_dashboard, as the Grafana sidecar of kube-prometheus-stack
// loads them), whose URLs are links shown in the browser.
func (c *checker) egress(o object, report reportFunc) {
	_, dashboard := o.u.GetLabels()["grafana_dashboard"]
	for _, t := range texts(o.u) {
		if t.dataKey != "" && (dashboard || isStaticAsset(t.dataKey) || isScript(t.dataKey, t.value)) {
			continue
		}
		for _, host := range urlHosts(t.value) {
			if c.internal(host) || c.allowedEgress(host) {
				continue
			}
			report(RuleEgress, t.path,
				fmt.Sprintf("connects to %s, which the air-gapped environment does not allow: add it to network.allowedEgress or point to an internal mirror", host))
		}
	}
}

// isScript reports a ConfigMap key holding a script (by its extension or
// a #! line). Scripts mostly print URLs for people (upgrade notes); what
// they connect to at run time cannot be told from the text, so they are
// not scanned.
func isScript(key, value string) bool {
	k := strings.ToLower(key)
	for _, ext := range []string{".sh", ".bash", ".py", ".ps1"} {
		if strings.HasSuffix(k, ext) {
			return true
		}
	}
	return strings.HasPrefix(strings.TrimSpace(value), "#!")
}

func isStaticAsset(key string) bool {
	k := strings.ToLower(key)
	for _, ext := range staticAssets {
		if strings.HasSuffix(k, ext) {
			return true
		}
	}
	return false
}

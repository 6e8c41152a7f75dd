package drift

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/plinth-platform/plinth/lib/needs"
)

// chromiumPath is the browser of the browser tests: $CHROMIUM, else
// /usr/bin/chromium, else chromium on the PATH; "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// TestHTMLInBrowser opens the HTML report in headless Chromium and checks
// what the page shows: the environment, components, fields, managers, and
// a <script> value shown as text and never run. It saves a full-page
// screenshot, into $PLINTH_SCREENSHOT_DIR too when set.
func TestHTMLInBrowser(t *testing.T) {
	browser := chromiumPath()
	if browser == "" {
		needs.Missing(t, needs.Chromium, errors.New("no $CHROMIUM, /usr/bin/chromium or chromium on PATH"),
			"make chromium (apt-get install -y --no-install-recommends chromium), or set CHROMIUM")
	}

	dir := t.TempDir()
	page := filepath.Join(dir, "drift.html")
	var b bytes.Buffer
	if err := writeSample().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// The timeout bounds the whole test, browser included.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	u := url.URL{Scheme: "file", Path: page}
	if err := chromedp.Do(tab, chromedp.Navigate(u.String())); err != nil {
		t.Fatalf("open %s in %s: %v", page, browser, err)
	}
	text, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"Drift in prod",
		"pipelines",
		"cert-manager",
		"/spec/template/spec/containers/0/image",
		"/data/password",
		"argocd-controller",
		"kubectl-edit",
		"<redacted>",
		"Deployment.apps/kubeflow/ml-pipeline",
		// The hostile value, as text.
		`<script>window.pwned=1</script><img src=x onerror="window.pwned=2">`,
	} {
		if !strings.Contains(text, s) {
			t.Errorf("the page does not show %q; it shows:\n%s", s, text)
		}
	}
	for _, s := range []string{"Field\tBefore\tAfter\tWho\tWhen", "Component\tObjects\tDrifted\tMissing"} {
		if !strings.Contains(text, s) {
			t.Errorf("the page has no table headed %q", s)
		}
	}
	for _, card := range []string{"3\ndrifted", "1\nmissing", "1\nunmanaged", "1\nstale"} {
		if !strings.Contains(text, card) {
			t.Errorf("the page has no card %q", card)
		}
	}

	pwned, err := chromedp.Run(tab, chromedp.Evaluate[string](`typeof window.pwned`))
	if err != nil {
		t.Fatal(err)
	}
	if pwned != "undefined" {
		t.Errorf("window.pwned is %s: a value ran as script", pwned)
	}
	scripts, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("script, img").length`))
	if err != nil {
		t.Fatal(err)
	}
	if scripts != 0 {
		t.Errorf("the page has %d script or img elements", scripts)
	}

	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shotPath := filepath.Join(t.TempDir(), "drift-report.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot %s: %v", shotPath, err)
	}
	// The whole page: as wide as the window, taller than it (the report
	// has six objects), and not blank (a PNG of one colour is tiny).
	size := img.Bounds().Size()
	if size.X < 1000 || size.Y < 1200 || size.Y > 20000 || len(shot) < 50_000 {
		t.Errorf("screenshot %s: %dx%d, %d bytes", shotPath, size.X, size.Y, len(shot))
	}
	t.Logf("screenshot: %s (%dx%d)", shotPath, size.X, size.Y)
	if out := os.Getenv("PLINTH_SCREENSHOT_DIR"); out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "drift-report.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's Chromium (or $TUBELAKE_CHROMIUM).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TUBELAKE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser test skipped: no chromium on PATH (apt-get install chromium, or set TUBELAKE_CHROMIUM); .ci/deps/30-chromium.sh installs it in CI")
	return ""
}

// artifactsDir is where screenshots go: $TUBELAKE_ARTIFACTS (set by CI) or
// a fresh temporary directory that is kept.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TUBELAKE_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "tubelake-ui-"); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(dir, "ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBrowserUI(t *testing.T) {
	bin := chromium(t)
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	s := fixture(t)
	art := artifactsDir(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "ko-KR"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	// Start the browser on the long-lived context: the per-step timeouts
	// below must not own it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(art, name)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			shot("failed.png")
			t.Fatalf("%s: %v", what, err)
		}
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconvQuote(sel)+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text %s: %v", sel, err)
		}
		return v
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	// hash moves inside the single-page app: a fragment change fires no
	// load event, so Navigate would wait for one forever.
	hash := func(h string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`location.hash = ` + strconvQuote(h))
	}

	// Search: type a Korean query, see results and the matching channels.
	do("open the search page",
		chromedp.Navigate(s.URL+"/#/"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem("lang","ko")`),
		chromedp.Reload(),
		chromedp.WaitVisible(css("#q")),
		chromedp.SendKeys(css("#q"), "영어"),
		chromedp.WaitVisible(css(".results tbody tr")),
	)
	rows, firstTitle, summary := count(".results tbody tr"), text(".results tbody tr td:nth-child(2)"), text("#summary")
	shot("search.png")
	if rows != 2 || !strings.Contains(firstTitle, "영어") || !strings.Contains(summary, "2건") {
		t.Fatalf("search: %d rows, first %q, summary %q", rows, firstTitle, summary)
	}

	// Channel page: open it from the results, see its growth charts drawn.
	do("open the channel page",
		chromedp.Click(css(".results tbody tr a.chan")),
		chromedp.WaitVisible(css("#ch-title")),
		chromedp.WaitVisible(css("#chart-subs svg circle.pt")),
		chromedp.WaitVisible(css("#chart-views svg circle.pt")),
		chromedp.WaitVisible(css(".results tbody tr")),
	)
	poly, err := chromedp.Run(ctx, chromedp.AttributeValue(css("#chart-subs svg polyline.line"), "points"))
	if err != nil {
		t.Fatal(err)
	}
	chTitle, subsPoints, viewsPoints, videoRows := text("#ch-title"), count("#chart-subs svg circle.pt"), count("#chart-views svg circle.pt"), count(".results tbody tr")
	shot("channel.png")
	if !strings.HasPrefix(chTitle, "채널 ") || subsPoints != 10 || viewsPoints != 10 || len(strings.Fields(poly.Value)) != 10 || videoRows != 3 {
		t.Fatalf("channel %q: %d subscriber points, %d view points, polyline %q, %d videos", chTitle, subsPoints, viewsPoints, poly.Value, videoRows)
	}

	// The other pages render: video history, rankings, trending, dashboard.
	do("video page", hash("#/video/video000002"), chromedp.WaitVisible(css("#chart-views svg circle.pt")))
	if n := count("#chart-views svg circle.pt"); n != 24 {
		t.Fatalf("video history: %d points, want 24", n)
	}
	shot("video.png")
	do("rankings page", hash("#/rankings?by=subscriber_growth"), chromedp.WaitVisible(css("#rk-chart svg rect.bar")))
	if n := count(".results tbody tr"); n != 2 {
		t.Fatalf("rankings: %d rows, want 2", n)
	}
	shot("rankings.png")
	do("trending page", hash("#/trending"), chromedp.WaitVisible(css("#tr-chart svg rect.bar")))
	if n := count(".results tbody tr"); n != 6 {
		t.Fatalf("trending: %d rows, want 6", n)
	}
	shot("trending.png")
	do("dashboard", hash("#/dashboard"), chromedp.WaitVisible(css("#d-quota .meter")), chromedp.WaitVisible(css("#d-coll table")),
		chromedp.Click(css("#lang-toggle")), chromedp.WaitVisible(css("#d-quota .meter")))
	if h := text("header nav a[href='#/dashboard']"); h != "Pipeline" {
		t.Fatalf("after switching to English the nav says %q", h)
	}
	shot("dashboard-en.png")
	t.Logf("UI screenshots in %s", art)
}

func strconvQuote(s string) string { return strconv.Quote(s) }

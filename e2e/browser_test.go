package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium driven over the DevTools protocol. It
// records every console error, uncaught exception and error the browser
// logs (a failed request, a blocked script), so a test can insist on none.
type browser struct {
	t   testing.TB
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

// chromiumPath finds Debian's chromium (make deps installs it); a test that
// needs it fails without it rather than skipping.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: install Debian's chromium package (make deps does)")
	return ""
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
		// Nothing outside the machine is reachable: no update or sync checks.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
	)
	b := &browser{t: t}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.record))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b.ctx = ctx
	// The first run starts the browser, which lives as long as its context:
	// that one has no timeout.
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	// The recording works: a console error made on purpose is seen.
	b.eval(`console.error("probe"), true`, nil)
	waitFor(t, "a console error to be recorded", 10*time.Second, func() bool { return len(b.consoleErrors()) > 0 })
	b.mu.Lock()
	b.errors = nil
	b.mu.Unlock()
	return b
}

// record keeps the console errors, uncaught exceptions and browser errors.
func (b *browser) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			msg = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
		}
	case *runtime.EventExceptionThrown:
		msg = "uncaught: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			msg = "browser log: " + ev.Entry.Text + " " + ev.Entry.URL
		}
	}
	if msg != "" {
		b.mu.Lock()
		b.errors = append(b.errors, msg)
		b.mu.Unlock()
	}
}

// run runs actions, failing the test on an error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v (console errors so far: %v)", what, err, b.consoleErrors())
	}
}

// eval evaluates a JavaScript expression into out (nil: ignored).
func (b *browser) eval(js string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	var err error
	if out == nil {
		_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](js))
	} else {
		var raw []byte
		if raw, err = chromedp.Run(ctx, chromedp.Evaluate[[]byte](js)); err == nil {
			err = json.Unmarshal(raw, out)
		}
	}
	if err != nil {
		b.t.Fatalf("browser: evaluating %s: %v (console errors so far: %v)", js, err, b.consoleErrors())
	}
}

// waitJS waits until a JavaScript expression is truthy.
func (b *browser) waitJS(what, js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithDeadline(b.ctx, deadline.Add(5*time.Second))
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(time.Until(deadline)),
			chromedp.WithPollingInterval(20*time.Millisecond)))
		cancel()
		// A poll started while a navigation replaced the document loses its
		// JavaScript context: poll the new one.
		if err != nil && strings.Contains(err.Error(), "Cannot find context") && time.Now().Before(deadline) {
			continue
		}
		if err == nil {
			return
		}
		page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
		loaded, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](
			`performance.getEntriesByType("resource").map(e => Math.round(e.duration) + " ms " + e.name).join("\n")`))
		b.t.Fatalf("browser: waiting for %s (%s): %v\npage text: %s\nrequests done:\n%s\nconsole errors: %v",
			what, js, err, page, loaded, b.consoleErrors())
	}
}

// screenshot saves the whole page as a PNG test artifact, and the window
// as name-window.png, and returns the first's path.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	dir := artifactsDir(b.t)
	path := filepath.Join(dir, name+".png")
	b.save(path, chromedp.FullScreenshot(100))
	// And what the window shows first, as a person opening the page sees it.
	b.save(filepath.Join(dir, name+"-window.png"), chromedp.CaptureScreenshot())
	b.t.Logf("screenshot: %s", path)
	return path
}

func (b *browser) save(path string, shot chromedp.Action[[]byte]) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatalf("browser: taking a screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("saving screenshot: %v", err)
	}
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// artifactsDir is where tests leave files for people to look at:
// $SIGHTLINE_ARTIFACTS, or .data/artifacts/dashboard in the repository.
func artifactsDir(t testing.TB) string {
	dir := os.Getenv("SIGHTLINE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", ".data", "artifacts", "dashboard")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts folder: %v", err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// jsString quotes s for JavaScript source.
func jsString(s string) string { return fmt.Sprintf("%q", s) }

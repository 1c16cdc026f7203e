// Package e2e drives the demo (cmd/demo) in headless Chromium with chromedp:
// the tests build the demo binary, start it on a free loopback port and act
// as a person would, with clicks and form fills.
//
// Chromium comes from Debian's "chromium" package (/usr/bin/chromium). Without
// it the tests skip, or fail when CI=true.
package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionkit/session/internal/testserver"
)

const (
	chromiumPath = "/usr/bin/chromium"
	cookieName   = "session" // session.DefaultCookie
	screenshot   = "testdata/demo.png"
)

// demoURL is the demo started by TestMain ("" when it could not start).
var demoURL string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sessionkit-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "demo")
	build := exec.Command("go", "build", "-o", bin, "./cmd/demo")
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the demo:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	addr := ln.Addr().String()
	ln.Close()
	demo := exec.Command(bin, "-addr", addr, "-files", filepath.Join(dir, "sessions"), "-secret", "testsecret - a test secret, not for production")
	demo.Stderr = os.Stderr
	if err := demo.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the demo:", err)
		return 1
	}
	defer func() {
		demo.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { demo.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			demo.Process.Kill()
			<-done
		}
	}()
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "e2e: the demo did not listen on", addr)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
	demoURL = "http://" + addr + "/"
	return m.Run()
}

// browser starts a fresh headless Chromium (own profile) for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testserver.Unavailable(t, "Chromium", fmt.Errorf("not installed: %w", err))
	}
	// A fresh profile; removed by hand, with retries, because Chromium may
	// still write into it for a moment after it is stopped.
	profile, err := os.MkdirTemp("", "sessionkit-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1000, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	tctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		for i := 0; i < 50; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove %s", profile)
	})
	if err := chromedp.Run(tctx); err != nil { // starts the browser
		testserver.Unavailable(t, "Chromium", fmt.Errorf("does not start: %w", err))
	}
	return tctx
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// open navigates to path on the demo.
func open(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(demoURL+strings.TrimPrefix(path, "/")), chromedp.WaitReady("body"))
}

// click clicks sel and waits for the page it leads to be loaded.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	do(t, ctx, chromedp.Evaluate(`window.__e2eOld = true`, nil), chromedp.Click(sel, chromedp.ByQuery))
	waitNewPage(t, ctx)
}

func waitNewPage(t *testing.T, ctx context.Context) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
		var ready bool
		err := chromedp.Run(ctx, chromedp.Evaluate(`!window.__e2eOld && document.readyState === "complete"`, &ready))
		if err == nil && ready {
			return
		}
	}
	t.Fatal("no new page loaded after the click")
}

func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	var s string
	do(t, ctx, chromedp.Evaluate(`document.body.innerText`, &s))
	return s
}

func sessionCookie(t *testing.T, ctx context.Context) *network.Cookie {
	t.Helper()
	var cookies []*network.Cookie
	do(t, ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{demoURL}).Do(ctx)
		return err
	}))
	for _, c := range cookies {
		if c.Name == cookieName {
			return c
		}
	}
	t.Fatalf("no %q cookie in the browser (have %d cookies)", cookieName, len(cookies))
	return nil
}

func logIn(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	do(t, ctx, chromedp.SendKeys(`form[action="/login"] input[name=name]`, name, chromedp.ByQuery))
	click(t, ctx, `form[action="/login"] button`)
	if txt := bodyText(t, ctx); !strings.Contains(txt, "Logged in as "+name) {
		t.Fatalf("after log in the page does not show the name:\n%s", txt)
	}
}

func TestCookieIsHttpOnlyAndLax(t *testing.T) {
	ctx := browser(t)
	open(t, ctx, "/")
	var jsCookies string
	do(t, ctx, chromedp.Evaluate(`document.cookie`, &jsCookies))
	if strings.Contains(jsCookies, cookieName+"=") {
		t.Errorf("document.cookie shows the session cookie: %q", jsCookies)
	}
	c := sessionCookie(t, ctx)
	if !c.HTTPOnly {
		t.Error("session cookie is not HttpOnly")
	}
	if c.SameSite != network.CookieSameSiteLax {
		t.Errorf("session cookie SameSite = %q, want Lax", c.SameSite)
	}
	if _, err := os.Stat(screenshot); os.Getenv("UPDATE_SCREENSHOT") == "1" || err != nil {
		var png []byte
		do(t, ctx, chromedp.FullScreenshot(&png, 100)) // 100: PNG; less is JPEG
		if err := os.WriteFile(screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", screenshot)
	}
}

func TestLogInChangesCookie(t *testing.T) {
	ctx := browser(t)
	open(t, ctx, "/")
	before := sessionCookie(t, ctx).Value
	logIn(t, ctx, "Alice")
	if after := sessionCookie(t, ctx).Value; after == before {
		t.Error("the session cookie did not change on log in")
	}
}

func TestFlashShowsOnce(t *testing.T) {
	ctx := browser(t)
	open(t, ctx, "/")
	do(t, ctx, chromedp.SetValue(`form[action="/flash"] input[name=text]`, "hello from e2e", chromedp.ByQuery))
	click(t, ctx, `form[action="/flash"] button:not([name])`)
	if txt := bodyText(t, ctx); !strings.Contains(txt, "Your flash message: hello from e2e") {
		t.Fatalf("flash message missing after the redirect:\n%s", txt)
	}
	do(t, ctx, chromedp.Evaluate(`window.__e2eOld = true; location.reload()`, nil))
	waitNewPage(t, ctx)
	if txt := bodyText(t, ctx); strings.Contains(txt, "hello from e2e") {
		t.Fatalf("flash message still shown after a reload:\n%s", txt)
	}
}

func TestCSRF(t *testing.T) {
	ctx := browser(t)
	var mu sync.Mutex
	status := map[string]int64{}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && strings.HasSuffix(e.Response.URL, "/colour") {
			mu.Lock()
			status["/colour"] = e.Response.Status
			mu.Unlock()
		}
	})
	open(t, ctx, "/")
	click(t, ctx, `.forged button`)
	mu.Lock()
	got := status["/colour"]
	mu.Unlock()
	if got != http.StatusForbidden {
		t.Errorf("forged post: status %d, want 403", got)
	}
	open(t, ctx, "/")
	if txt := bodyText(t, ctx); strings.Contains(txt, "hacker green") && !strings.Contains(txt, "not set") {
		t.Errorf("the forged post changed the colour:\n%s", txt)
	}
	do(t, ctx, chromedp.SendKeys(`form[action="/colour"] input[name=colour]`, "teal", chromedp.ByQuery))
	click(t, ctx, `form[action="/colour"] button`)
	if txt := bodyText(t, ctx); !strings.Contains(txt, "CSRF token accepted: your favourite colour is now teal.") {
		t.Errorf("the real post was not accepted:\n%s", txt)
	}
}

func TestOneTimeTokenRefusesSecondSubmit(t *testing.T) {
	ctx := browser(t)
	open(t, ctx, "/")
	var once string
	do(t, ctx, chromedp.Value(`form[action="/once"] input[name=_once]`, &once, chromedp.ByQuery))
	click(t, ctx, `form[action="/once"] button`)
	if txt := bodyText(t, ctx); !strings.Contains(txt, "One-time token: accepted") {
		t.Fatalf("first submit not accepted:\n%s", txt)
	}
	// Submit the same form again: the saved token put back in the new page's form.
	do(t, ctx, chromedp.SetValue(`form[action="/once"] input[name=_once]`, once, chromedp.ByQuery))
	click(t, ctx, `form[action="/once"] button`)
	if txt := bodyText(t, ctx); !strings.Contains(txt, "One-time token: refused") {
		t.Fatalf("second submit not refused:\n%s", txt)
	}
}

func TestLogOutOldCookieDoesNotLogIn(t *testing.T) {
	ctx := browser(t)
	open(t, ctx, "/")
	logIn(t, ctx, "Bob")
	old := sessionCookie(t, ctx)
	click(t, ctx, `form[action="/logout"] button`)
	if txt := bodyText(t, ctx); strings.Contains(txt, "Bob") {
		t.Fatalf("still logged in after log out:\n%s", txt)
	}
	do(t, ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		return network.SetCookie(old.Name, old.Value).
			WithURL(demoURL).WithPath("/").WithHTTPOnly(true).
			WithSameSite(network.CookieSameSiteLax).Do(ctx)
	}))
	if sessionCookie(t, ctx).Value != old.Value {
		t.Fatal("could not set the old cookie back")
	}
	do(t, ctx, chromedp.Evaluate(`window.__e2eOld = true; location.reload()`, nil))
	waitNewPage(t, ctx)
	if txt := bodyText(t, ctx); strings.Contains(txt, "Bob") {
		t.Fatalf("the old cookie still logs in after log out:\n%s", txt)
	}
}

// rows counts the sessions listed on the "Your sessions" page.
func rows(t *testing.T, ctx context.Context) int {
	t.Helper()
	var n int
	do(t, ctx, chromedp.Evaluate(`document.querySelectorAll("table.sessions tr").length - 1`, &n))
	return n
}

// TestYourSessions: three browsers log in as one user (on the demo's file
// store); the first lists all three on "Your sessions", itself marked "(this
// browser)", revokes the third by the handle that the third's own page
// lacks, then logs out the other device, and stays logged in itself.
func TestYourSessions(t *testing.T) {
	laptop, phone, tablet := browser(t), browser(t), browser(t)
	for _, ctx := range []context.Context{laptop, phone, tablet} {
		open(t, ctx, "/")
		logIn(t, ctx, "Carol")
	}
	open(t, laptop, "/sessions")
	if n := rows(t, laptop); n != 3 {
		t.Fatalf("Your sessions lists %d sessions, want 3:\n%s", n, bodyText(t, laptop))
	}
	if txt := bodyText(t, laptop); !strings.Contains(txt, "(this browser)") || !strings.Contains(txt, "Chrome") || !strings.Contains(txt, "127.0.0.1") {
		t.Fatalf("the page lacks the current marker, the device or the IP:\n%s", txt)
	}

	// Revoke the tablet's session: the one the laptop's page offers to
	// revoke and the tablet's does not (no page offers its own).
	var laptopHandles, tabletHandles []string
	handles := `Array.from(document.querySelectorAll('input[name=handle]')).map(e => e.value)`
	do(t, laptop, chromedp.Evaluate(handles, &laptopHandles))
	open(t, tablet, "/sessions")
	do(t, tablet, chromedp.Evaluate(handles, &tabletHandles))
	var tabletHandle string
	for _, h := range laptopHandles {
		if !slices.Contains(tabletHandles, h) {
			tabletHandle = h
		}
	}
	if tabletHandle == "" {
		t.Fatal("could not tell the tablet's session")
	}
	click(t, laptop, `form[action="/sessions/revoke"] input[value="`+tabletHandle+`"] ~ button`)
	if txt := bodyText(t, laptop); !strings.Contains(txt, "Session revoked.") || rows(t, laptop) != 2 {
		t.Fatalf("after Revoke:\n%s", txt)
	}
	open(t, tablet, "/")
	if txt := bodyText(t, tablet); !strings.Contains(txt, "Not logged in") {
		t.Errorf("the revoked browser is still logged in:\n%s", txt)
	}

	click(t, laptop, `form[action="/sessions/others"] button`)
	if txt := bodyText(t, laptop); !strings.Contains(txt, "Logged out 1 other session.") || rows(t, laptop) != 1 {
		t.Fatalf("after Log out other devices:\n%s", txt)
	}
	open(t, phone, "/")
	if txt := bodyText(t, phone); !strings.Contains(txt, "Not logged in") {
		t.Errorf("the other device is still logged in:\n%s", txt)
	}
	open(t, laptop, "/")
	if txt := bodyText(t, laptop); !strings.Contains(txt, "Logged in as Carol") {
		t.Errorf("this browser was logged out too:\n%s", txt)
	}
}

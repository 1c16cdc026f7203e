package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessionkit/session"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one template set per page, each with the shared layout.
var pages = map[string]*template.Template{
	"index":    template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/index.html")),
	"session":  template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/session.html")),
	"sessions": template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/sessions.html")),
}

// Session keys the demo uses. Dots nest: "cart.items" is data["cart"]["items"].
const (
	keyVisits     = "visits"       // int, the visit counter
	keyCart       = "cart"         // map holding the cart
	keyCartItems  = "cart.items"   // list of strings
	keyUserName   = "user.name"    // the logged-in name
	keyColour     = "prefs.colour" // set by the CSRF-protected form
	keyMessage    = "message"      // flash: the message shown at the top of the next page
	keyKeep       = "keepMessage"  // flash: ask the next page view to Keep the message
	keyPreviousID = "previousID"   // flash: the session ID before log in
)

// app holds what the handlers share.
type app struct {
	m   *session.Manager
	log *slog.Logger
	cfg session.Config // for display only: driver, lifetime, encryption
}

// newServer returns the demo's handler: the pages wrapped in the session
// middleware and CSRF check. cfg is the Config m was built from; it is only
// shown on the pages (never the secret). metrics, when not nil, is served at
// GET /metrics, outside the session middleware.
func newServer(m *session.Manager, logger *slog.Logger, cfg session.Config, metrics http.Handler) http.Handler {
	a := &app{m: m, log: logger, cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /session", a.sessionPage)
	mux.HandleFunc("GET /sessions", a.sessionsPage)
	mux.HandleFunc("POST /sessions/others", a.logoutOthers)
	mux.HandleFunc("POST /sessions/revoke", a.revoke)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /cart/add", a.cartAdd)
	mux.HandleFunc("POST /cart/remove", a.cartRemove)
	mux.HandleFunc("POST /cart/clear", a.cartClear)
	mux.HandleFunc("POST /flash", a.flash)
	mux.HandleFunc("POST /colour", a.colour)
	mux.HandleFunc("POST /once", a.once)

	root := http.NewServeMux()
	// Every request through the middleware ages flash data, so a browser's
	// automatic favicon request would eat a kept message: answer it outside.
	root.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	if metrics != nil {
		root.Handle("GET /metrics", metrics) // a scrape is no visitor: no session
	}
	root.Handle("/", limitBody(m.Middleware(m.VerifyCSRF(mux))))
	return root
}

// limitBody caps request bodies; VerifyCSRF reads the form before the pages do.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}

// base is what every page shows.
type base struct {
	Title   string
	ID      string // session ID, abbreviated
	Token   string // CSRF token, masked anew for each page (BREACH), for the forms' _token field
	User    string
	Message string // flash message, if any
	Kept    bool   // the message was kept for one more view
}

// basePage reads what every page shows. Call it before writing anything:
// the session is saved when the response starts.
func (a *app) basePage(s *session.Session, title string) base {
	b := base{Title: title, Token: s.MaskedToken()}
	b.Message, _ = session.GetAs[string](s, keyMessage)
	if b.Message != "" && s.Has(keyKeep) {
		s.Keep(keyMessage) // readable in this request and the next one
		b.Kept = true
	}
	b.User, _ = session.GetAs[string](s, keyUserName)
	b.ID = abbrev(s.ID())
	return b
}

type homePage struct {
	base
	Visits     int
	PreviousID string // before log in, abbreviated; "" when not just logged in
	Cart       []string
	Colour     string
	Once       string // one-time token for the _once field
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)

	visits, err := session.GetAs[int](s, keyVisits)
	if err != nil && !errors.Is(err, session.ErrMissing) {
		a.log.Warn("visit counter unreadable; starting again", "error", err)
	}
	visits++
	s.Put(keyVisits, visits)

	p := homePage{base: a.basePage(s, "Home"), Visits: visits}
	p.PreviousID, _ = session.GetAs[string](s, keyPreviousID)
	p.Cart, _ = session.GetAs[[]string](s, keyCartItems)
	p.Colour, _ = session.GetAs[string](s, keyColour)
	p.Once = s.GenerateOneTimeToken()
	a.render(w, r, "index", p)
}

type sessionView struct {
	base
	TokenAbbrev string // CSRF token, abbreviated
	All         string // session.All() as indented JSON
	Cookie      string // the session cookie the browser sent, abbreviated
	Driver      string
	Lifetime    time.Duration
	Encrypt     bool
	InCookie    bool   // the cookie driver: no store, the session is in the cookie
	Stored      bool   // the store holds a record for the ID
	Sealed      bool   // the record is encrypted
	Raw         string // the record's payload, as text
	RawLen      int
	Expiry      time.Time
	Left        time.Duration // until Expiry
}

func (a *app) sessionPage(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	p := sessionView{base: a.basePage(s, "Session")}
	p.TokenAbbrev = abbrev(s.Token())
	p.Driver, p.Lifetime, p.Encrypt = a.cfg.Driver, a.cfg.Lifetime, a.cfg.Encrypt

	all, err := json.MarshalIndent(s.All(), "", "  ")
	if err != nil {
		a.fail(w, r, "encode session data", err)
		return
	}
	p.All = string(all)
	if c, err := r.Cookie(cookieName(a.cfg)); err == nil {
		p.Cookie = abbrev(c.Value)
	}

	// The record as the store holds it now, before this request saves. The
	// cookie driver has no store: the session lives in the cookie itself.
	st := a.m.Store()
	if st == nil {
		p.InCookie = true
		a.render(w, r, "session", p)
		return
	}
	data, expiry, found, err := st.Load(r.Context(), s.ID())
	if err != nil {
		a.fail(w, r, "load the session record", err)
		return
	}
	if found {
		p.Stored, p.Expiry, p.RawLen = true, expiry, len(data)
		p.Left = time.Until(expiry).Round(time.Second)
		var buf bytes.Buffer
		if json.Indent(&buf, data, "", "  ") == nil {
			// Shorten the tokens (CSRF, one-time) the record holds, as the
			// page does elsewhere: a screenshot of it should not leak them.
			p.Raw = tokenRE.ReplaceAllStringFunc(buf.String(), abbrev)
		} else {
			p.Sealed = true
			p.Raw = string(data)
			if len(p.Raw) > 160 {
				p.Raw = p.Raw[:160] + "…"
			}
		}
	}
	a.render(w, r, "session", p)
}

func cookieName(cfg session.Config) string {
	if cfg.Cookie != "" {
		return cfg.Cookie
	}
	return session.DefaultCookie
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || utf8.RuneCountInString(name) > 40 {
		s.Flash(keyMessage, "Type a name of 1 to 40 characters to log in.")
		redirect(w, r)
		return
	}
	before := s.ID()
	// Login gives the session a new ID (whoever knew the old one, which may
	// have leaked before log in, cannot ride on the logged-in session), ties
	// it to the user and lists it among the user's sessions.
	if err := s.Login(name); err != nil {
		a.fail(w, r, "log in", err)
		return
	}
	if r.PostFormValue("remember") != "" {
		s.SetLifetime(rememberFor) // remember me: a persistent cookie, a longer idle lifetime
	}
	s.Put(keyUserName, name)
	s.Flash(keyPreviousID, abbrev(before))
	s.Flash(keyMessage, "Welcome, "+name+"! You are logged in.")
	redirect(w, r)
}

// rememberFor is the idle lifetime of a session logged in with "remember me".
const rememberFor = 30 * 24 * time.Hour

// sessionRow is one of the user's sessions on the "Your sessions" page.
type sessionRow struct {
	Handle, Device, IP string
	Current            bool
	LastSeen, Created  string
	ExpiresIn          string
}

type sessionsView struct {
	base
	Rows        []sessionRow
	Unsupported string // why the driver cannot list sessions
}

// sessionsPage lists the user's live sessions, with the buttons that end
// them: Manager.UserSessions, with the request's context so that the
// current session is marked.
func (a *app) sessionsPage(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	p := sessionsView{base: a.basePage(s, "Your sessions")}
	if user := s.UserID(); user != "" {
		infos, err := a.m.UserSessions(r.Context(), user)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			p.Unsupported = err.Error()
		case err != nil:
			a.fail(w, r, "list the user's sessions", err)
			return
		}
		now := time.Now()
		for _, in := range infos {
			p.Rows = append(p.Rows, sessionRow{
				Handle: in.Handle, Device: device(in.UserAgent), IP: in.IP, Current: in.Current,
				LastSeen:  ago(now.Sub(in.LastSeen)),
				Created:   in.Created.Format("2006-01-02 15:04"),
				ExpiresIn: in.Expires.Sub(now).Round(time.Second).String(),
			})
		}
	}
	a.render(w, r, "sessions", p)
}

// logoutOthers ends every other session of the user: "log out other
// devices".
func (a *app) logoutOthers(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	n, err := s.DestroyOtherSessions()
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		s.Flash(keyMessage, "This driver cannot find a user's other sessions.")
	case err != nil:
		a.fail(w, r, "log out other sessions", err)
		return
	default:
		s.Flash(keyMessage, "Logged out "+strconv.Itoa(n)+" other session"+plural(n)+".")
	}
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

// revoke ends one session of the user, named by its handle.
func (a *app) revoke(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	user := s.UserID()
	if user == "" {
		redirect(w, r)
		return
	}
	err := a.m.DestroyUserSession(r.Context(), user, r.PostFormValue("handle"))
	switch {
	case errors.Is(err, session.ErrNoSession):
		s.Flash(keyMessage, "That session has already ended.")
	case err != nil:
		a.fail(w, r, "revoke a session", err)
		return
	default:
		s.Flash(keyMessage, "Session revoked.")
	}
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

// device names a browser from its User-Agent, roughly.
func device(ua string) string {
	browser := "Unknown browser"
	for _, b := range []string{"Edg", "Firefox", "Chrome", "Safari", "curl", "Go-http-client"} {
		if strings.Contains(ua, b+"/") {
			browser = map[string]string{"Edg": "Edge", "Go-http-client": "Go program"}[b]
			if browser == "" {
				browser = b
			}
			break
		}
	}
	for _, os := range []string{"Android", "iPhone", "iPad", "Windows", "Mac OS X", "Linux"} {
		if strings.Contains(ua, os) {
			return browser + " on " + strings.TrimSuffix(os, " OS X")
		}
	}
	return browser
}

// ago says how long ago d was, roughly.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days ago"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	if err := s.Destroy(); err != nil {
		a.fail(w, r, "destroy the session", err)
		return
	}
	// The request goes on with a fresh, empty session: the message is saved in it.
	s.Flash(keyMessage, "You are logged out")
	redirect(w, r)
}

func (a *app) cartAdd(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	item := strings.TrimSpace(r.PostFormValue("item"))
	if item == "" || utf8.RuneCountInString(item) > 40 {
		s.Flash(keyMessage, "Type an item of 1 to 40 characters.")
		redirect(w, r)
		return
	}
	if err := s.Push(keyCartItems, item); err != nil {
		a.fail(w, r, "add to the cart", err)
		return
	}
	s.Flash(keyMessage, "Added "+item+" to the cart.")
	redirect(w, r)
}

func (a *app) cartRemove(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	items, _ := session.GetAs[[]string](s, keyCartItems)
	i, err := strconv.Atoi(r.PostFormValue("index"))
	if err != nil || i < 0 || i >= len(items) {
		s.Flash(keyMessage, "That item is not in the cart (any more).")
		redirect(w, r)
		return
	}
	removed := items[i]
	s.Put(keyCartItems, append(items[:i], items[i+1:]...))
	s.Flash(keyMessage, "Removed "+removed+" from the cart.")
	redirect(w, r)
}

func (a *app) cartClear(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	s.Forget(keyCart)
	s.Flash(keyMessage, "The cart is empty.")
	redirect(w, r)
}

func (a *app) flash(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	text := strings.TrimSpace(r.PostFormValue("text"))
	if text == "" {
		text = "(an empty message)"
	}
	s.Flash(keyMessage, "Your flash message: "+text)
	if r.PostFormValue("keep") != "" {
		// Keep must run in a request that reads the message: the next one.
		s.Flash(keyKeep, true)
	}
	redirect(w, r)
}

func (a *app) colour(w http.ResponseWriter, r *http.Request) {
	// VerifyCSRF has checked the _token field: only our own form gets here.
	s := session.FromRequest(r)
	colour := strings.TrimSpace(r.PostFormValue("colour"))
	if colour == "" || utf8.RuneCountInString(colour) > 20 {
		s.Flash(keyMessage, "Type a colour of 1 to 20 characters.")
		redirect(w, r)
		return
	}
	s.Put(keyColour, colour)
	s.Flash(keyMessage, "CSRF token accepted: your favourite colour is now "+colour+".")
	redirect(w, r)
}

func (a *app) once(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	if s.ValidateOneTimeToken(r.PostFormValue("_once")) {
		s.Flash(keyMessage, "One-time token: accepted")
	} else {
		s.Flash(keyMessage, "One-time token: refused: this form was already submitted")
	}
	redirect(w, r)
}

// redirect ends a POST with 303 See Other to the home page, so a reload does
// not post again.
func redirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// render executes a page into a buffer first, so a template error can still
// answer 500; the session is saved when the buffer is written.
func (a *app) render(w http.ResponseWriter, r *http.Request, page string, data any) {
	var buf bytes.Buffer
	if err := pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		a.fail(w, r, "render "+page, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// private, not no-store: the browser keeps the page in its history, so
	// Back shows the old one-time token and resubmitting it is refused.
	w.Header().Set("Cache-Control", "private")
	buf.WriteTo(w)
}

// fail logs err and answers 500.
func (a *app) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	a.log.Error("demo: "+what, "error", err, "method", r.Method, "path", r.URL.Path)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// tokenRE matches the library's IDs and tokens: 256 bits in unpadded
// URL-safe base64.
var tokenRE = regexp.MustCompile(`[A-Za-z0-9_-]{43}`)

// abbrev shortens an ID or token to its first 8 characters.
func abbrev(s string) string {
	if len(s) <= 8 {
		return s
	}
	return s[:8] + "…"
}

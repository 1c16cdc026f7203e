package echosession_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/echosession"
)

func Example() {
	m, err := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	e := echo.New()
	e.Use(echosession.Middleware(m), echosession.VerifyCSRF(m))
	e.GET("/", func(c echo.Context) error {
		s := echosession.From(c)
		visits, _ := session.GetAs[int](s, "visits")
		s.Put("visits", visits+1) // saved, and the cookie set, before c.String writes
		return c.String(http.StatusOK, fmt.Sprintf("visit %d", visits+1))
	})

	srv := httptest.NewServer(e)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar} // keeps the cookie, as a browser does
	for range 2 {
		res, err := client.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(b))
	}
	// Output:
	// visit 1
	// visit 2
}

func ExampleVerifyCSRF() {
	m, err := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	e := echo.New()
	e.Use(echosession.Middleware(m), echosession.VerifyCSRF(m))
	e.GET("/form", func(c echo.Context) error {
		// A real form puts the token in a hidden field named _token.
		return c.String(http.StatusOK, echosession.From(c).Token())
	})
	e.POST("/form", func(c echo.Context) error { // runs only with the session's token
		echosession.From(c).Flash("status", "saved "+c.FormValue("title"))
		return c.Redirect(http.StatusSeeOther, "/done")
	})
	e.GET("/done", func(c echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprint(echosession.From(c).Get("status")))
	})

	srv := httptest.NewServer(e)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	res, _ := client.Get(srv.URL + "/form")
	token, _ := io.ReadAll(res.Body)
	res.Body.Close()

	for _, form := range []url.Values{
		{"title": {"draft"}, "_token": {"forged"}},
		{"title": {"draft"}, "_token": {string(token)}},
	} {
		res, err := client.Post(srv.URL+"/form", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			log.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b = nil // the Manager's refusal page
		}
		fmt.Println(strings.TrimSpace(fmt.Sprint(res.StatusCode, " ", string(b))))
	}
	// Output:
	// 403
	// 200 saved draft
}

// An error the handler returns reaches e.HTTPErrorHandler as usual, and its
// response carries the session cookie.
func ExampleMiddleware_errors() {
	m, err := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.GET("/", func(c echo.Context) error {
		echosession.From(c).Put("tried", true)
		return echo.NewHTTPError(http.StatusTeapot, "short and stout")
	})

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()), len(rec.Result().Cookies()))
	// Output: 418 {"message":"short and stout"} 1
}

package ginsession_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/ginsession"
)

func Example() {
	m, err := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	r := gin.New()
	r.Use(ginsession.Middleware(m), ginsession.VerifyCSRF(m))
	r.GET("/", func(c *gin.Context) {
		s := ginsession.From(c)
		visits, _ := session.GetAs[int](s, "visits")
		s.Put("visits", visits+1) // saved, and the cookie set, before c.String writes
		c.String(http.StatusOK, "visit %d", visits+1)
	})

	srv := httptest.NewServer(r)
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

	r := gin.New()
	r.Use(ginsession.Middleware(m), ginsession.VerifyCSRF(m))
	r.GET("/form", func(c *gin.Context) {
		// A real form puts the token in a hidden field named _token.
		c.String(http.StatusOK, "%s", ginsession.From(c).Token())
	})
	r.POST("/form", func(c *gin.Context) { // runs only with the session's token
		ginsession.From(c).Flash("status", "saved "+c.PostForm("title"))
		c.Redirect(http.StatusSeeOther, "/done")
	})
	r.GET("/done", func(c *gin.Context) {
		c.String(http.StatusOK, "%v", ginsession.From(c).Get("status"))
	})

	srv := httptest.NewServer(r)
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

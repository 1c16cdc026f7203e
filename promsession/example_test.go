package promsession_test

import (
	"bufio"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/promsession"
)

// A Manager whose metrics are served at /metrics beside the application.
func Example() {
	reg := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
	metrics, err := promsession.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{
		Secret: "example secret - at least 32 bytes long, not for production",
		Driver: "memory",
		Hooks:  metrics.Hooks(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromRequest(r).Put("visits", 1)
	})))

	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) // a first visit
	scrape := httptest.NewRecorder()
	mux.ServeHTTP(scrape, httptest.NewRequest("GET", "/metrics", nil))
	for sc := bufio.NewScanner(scrape.Body); sc.Scan(); {
		if line := sc.Text(); strings.HasPrefix(line, "sessionkit_sessions_") {
			fmt.Println(line)
		}
	}
	// Output:
	// sessionkit_sessions_created_total 1
	// sessionkit_sessions_destroyed_total 0
	// sessionkit_sessions_loaded_total{result="expired"} 0
	// sessionkit_sessions_loaded_total{result="found"} 0
	// sessionkit_sessions_loaded_total{result="invalid"} 0
	// sessionkit_sessions_loaded_total{result="new"} 1
	// sessionkit_sessions_regenerated_total 0
}

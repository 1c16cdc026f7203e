// Package loadtest is a bounded load generator for sessionkit: it serves a
// small session application on loopback through a real HTTP listener, runs
// many clients against it (each with its own cookie jar and session, mixing
// reads and writes), plus periodic bursts of concurrent writes to one shared
// session, and reports throughput, latency percentiles, errors, lost updates
// and the process's memory and goroutine count over time. cmd/loadtest is
// its command line.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/session"
)

// Options configures a run. Zero fields take the defaults named.
type Options struct {
	Driver     string        // session driver: file, database, redis, ...; default "file"
	Connection string        // Config.Connection for database, redis, ...
	Files      string        // Config.Files for the file driver; required for it
	Clients    int           // concurrent clients, each with its own session; default 50
	Duration   time.Duration // how long the clients run; default 1 minute
	Writes     float64       // share of a client's requests that write; default 0.2
	BurstEvery time.Duration // pause between bursts on the shared session; default 1 second
	BurstSize  int           // concurrent pushes per burst; default 20
	Sample     time.Duration // memory and goroutine sampling period; default 5 seconds
	Log        io.Writer     // receives a line per sample while the run goes; nil for none
}

func (o Options) withDefaults() (Options, error) {
	if o.Driver == "" {
		o.Driver = "file"
	}
	if o.Driver == "file" && o.Files == "" {
		return o, errors.New("loadtest: the file driver needs Options.Files (a directory)")
	}
	if o.Clients == 0 {
		o.Clients = 50
	}
	if o.Duration == 0 {
		o.Duration = time.Minute
	}
	if o.Writes == 0 {
		o.Writes = 0.2
	}
	if o.BurstEvery == 0 {
		o.BurstEvery = time.Second
	}
	if o.BurstSize == 0 {
		o.BurstSize = 20
	}
	if o.Sample == 0 {
		o.Sample = 5 * time.Second
	}
	switch {
	case o.Clients < 0 || o.BurstSize < 0:
		return o, fmt.Errorf("loadtest: Clients %d and BurstSize %d must not be negative", o.Clients, o.BurstSize)
	case o.Duration < 0 || o.BurstEvery < 0 || o.Sample < 0:
		return o, errors.New("loadtest: durations must not be negative")
	case o.Writes < 0 || o.Writes > 1:
		return o, fmt.Errorf("loadtest: Writes %v is not between 0 and 1", o.Writes)
	}
	return o, nil
}

// Sample is the process's state at one moment of the run.
type Sample struct {
	At         time.Duration // since the start
	HeapAlloc  uint64        // runtime.MemStats.HeapAlloc, bytes
	Sys        uint64        // runtime.MemStats.Sys, bytes
	Goroutines int
}

func (s Sample) String() string {
	return fmt.Sprintf("t=%-6v heap=%6.1f MiB sys=%6.1f MiB goroutines=%d",
		s.At.Round(100*time.Millisecond), float64(s.HeapAlloc)/(1<<20), float64(s.Sys)/(1<<20), s.Goroutines)
}

// Report is the outcome of a run.
type Report struct {
	Driver        string
	Clients       int
	Elapsed       time.Duration
	Requests      int64 // every request sent, bursts included
	Reads, Writes int64 // the clients' requests by kind
	Pushes        int64 // burst requests
	Errors        int64 // requests that failed or answered other than 200
	FirstError    string
	// LostUpdates counts writes acknowledged with 200 that the final state
	// does not show: per client, increments answered 200 minus the counter
	// read back at the end; for the shared session, pushes answered 200
	// minus the length of its list.
	LostUpdates int64
	// Phantoms counts writes the final state shows beyond those sent.
	Phantoms                 int64
	P50, P90, P99, Max, Mean time.Duration
	Samples                  []Sample
}

// Throughput returns requests per second.
func (r *Report) Throughput() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// String formats the report for people.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "driver %s, %d clients, %v: %d requests (%d reads, %d writes, %d burst pushes), %.0f req/s\n",
		r.Driver, r.Clients, r.Elapsed.Round(time.Millisecond), r.Requests, r.Reads, r.Writes, r.Pushes, r.Throughput())
	fmt.Fprintf(&b, "latency p50 %v, p90 %v, p99 %v, max %v, mean %v\n",
		round(r.P50), round(r.P90), round(r.P99), round(r.Max), round(r.Mean))
	fmt.Fprintf(&b, "errors %d, lost updates %d, phantom updates %d\n", r.Errors, r.LostUpdates, r.Phantoms)
	if r.FirstError != "" {
		fmt.Fprintf(&b, "first error: %s\n", r.FirstError)
	}
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "  %v\n", s)
	}
	return b.String()
}

func round(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(100 * time.Microsecond)
}

// Handler is the application under load, wrapped in m's middleware:
//
//	GET  /count  the session's counter
//	POST /inc    increments the counter and answers its new value
//	POST /push   appends ?v= to the session's list
//	GET  /len    the length of the session's list
func Handler(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		n, _ := session.FromRequest(r).Get("n", 0).(int)
		io.WriteString(w, strconv.Itoa(n))
	})
	mux.HandleFunc("POST /inc", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		n, _ := s.Get("n", 0).(int)
		s.Put("n", n+1)
		s.Put("last", time.Now().UnixNano())
		io.WriteString(w, strconv.Itoa(n+1))
	})
	mux.HandleFunc("POST /push", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromRequest(r).Push("list", r.URL.Query().Get("v")); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	mux.HandleFunc("GET /len", func(w http.ResponseWriter, r *http.Request) {
		l, _ := session.FromRequest(r).Get("list", []any{}).([]any)
		io.WriteString(w, strconv.Itoa(len(l)))
	})
	return m.Middleware(mux)
}

// recorder collects latencies and errors; each goroutine has its own.
type recorder struct {
	lat    []time.Duration
	errors int64
	first  string
}

// do sends one request and reports whether it answered 200, with its body.
func (rec *recorder) do(c *http.Client, method, url string) (string, bool) {
	start := time.Now()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		rec.fail(err.Error())
		return "", false
	}
	resp, err := c.Do(req)
	if err != nil {
		rec.lat = append(rec.lat, time.Since(start))
		rec.fail(err.Error())
		return "", false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	rec.lat = append(rec.lat, time.Since(start))
	if err != nil {
		rec.fail(err.Error())
		return "", false
	}
	if resp.StatusCode != http.StatusOK {
		rec.fail(fmt.Sprintf("%s %s: %d %s", method, url, resp.StatusCode, strings.TrimSpace(string(body))))
		return "", false
	}
	return string(body), true
}

func (rec *recorder) fail(msg string) {
	if rec.errors == 0 {
		rec.first = msg
	}
	rec.errors++
}

// Run runs the load for o.Duration and returns its report. ctx ends the run
// early.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := session.New(session.Config{
		Secret: "loadtest secret, not for production", Driver: o.Driver, Connection: o.Connection,
		Files: o.Files, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	defer m.Close()
	srv := httptest.NewServer(Handler(m))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: o.Clients + o.BurstSize + 1}
	defer tr.CloseIdleConnections()
	newClient := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
	}

	rep := &Report{Driver: o.Driver, Clients: o.Clients}
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()

	// Memory and goroutines, sampled until the run ends.
	var samplesMu sync.Mutex
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := Sample{At: time.Since(start), HeapAlloc: ms.HeapAlloc, Sys: ms.Sys, Goroutines: runtime.NumGoroutine()}
		samplesMu.Lock()
		rep.Samples = append(rep.Samples, s)
		samplesMu.Unlock()
		if o.Log != nil {
			fmt.Fprintln(o.Log, s)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(o.Sample)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				sample()
			}
		}
	})

	// The clients.
	type clientState struct {
		c             *http.Client
		rec           recorder
		acked, tried  int64
		reads, writes int64
		created       bool
	}
	clients := make([]*clientState, o.Clients)
	for i := range clients {
		cs := &clientState{c: newClient()}
		clients[i] = cs
		wg.Go(func() {
			for runCtx.Err() == nil {
				if !cs.created || rand.Float64() < o.Writes {
					cs.tried++
					cs.writes++
					if _, ok := cs.rec.do(cs.c, "POST", srv.URL+"/inc"); ok {
						cs.acked++
						cs.created = true
					}
				} else {
					cs.reads++
					cs.rec.do(cs.c, "GET", srv.URL+"/count")
				}
			}
		})
	}

	// The bursts on one shared session.
	shared := newClient()
	var burstRec recorder
	var pushed, pushTried atomic.Int64
	var burstMu sync.Mutex
	var burstRecs []*recorder
	if o.BurstSize > 0 {
		if _, ok := burstRec.do(shared, "POST", srv.URL+"/push?v=first"); ok {
			pushed.Add(1)
		}
		pushTried.Add(1)
		wg.Go(func() {
			for n := 0; runCtx.Err() == nil; n++ {
				var bw sync.WaitGroup
				for k := range o.BurstSize {
					rec := &recorder{}
					burstMu.Lock()
					burstRecs = append(burstRecs, rec)
					burstMu.Unlock()
					bw.Go(func() {
						pushTried.Add(1)
						if _, ok := rec.do(shared, "POST", fmt.Sprintf("%s/push?v=%d-%d", srv.URL, n, k)); ok {
							pushed.Add(1)
						}
					})
				}
				bw.Wait()
				select {
				case <-runCtx.Done():
				case <-time.After(o.BurstEvery):
				}
			}
		})
	}
	sample()
	<-runCtx.Done()
	wg.Wait()
	rep.Elapsed = time.Since(start)
	sample()

	// Collect.
	var lat []time.Duration
	add := func(rec *recorder) {
		lat = append(lat, rec.lat...)
		if rec.errors > 0 && rep.Errors == 0 {
			rep.FirstError = rec.first
		}
		rep.Errors += rec.errors
	}
	for _, cs := range clients {
		add(&cs.rec)
		rep.Reads += cs.reads
		rep.Writes += cs.writes
	}
	add(&burstRec)
	for _, rec := range burstRecs {
		add(rec)
	}
	rep.Pushes = pushTried.Load()
	rep.Requests = int64(len(lat))
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		rep.P50, rep.P90, rep.P99, rep.Max = pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1]
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		rep.Mean = sum / time.Duration(len(lat))
	}

	// Lost updates: read every session back.
	var check recorder
	for _, cs := range clients {
		if !cs.created {
			continue
		}
		body, ok := check.do(cs.c, "GET", srv.URL+"/count")
		n, err := strconv.ParseInt(body, 10, 64)
		if !ok || err != nil {
			return rep, fmt.Errorf("loadtest: reading a client's counter back: %s", check.first)
		}
		rep.LostUpdates += max(0, cs.acked-n)
		rep.Phantoms += max(0, n-cs.tried)
	}
	if o.BurstSize > 0 {
		body, ok := check.do(shared, "GET", srv.URL+"/len")
		n, err := strconv.ParseInt(body, 10, 64)
		if !ok || err != nil {
			return rep, fmt.Errorf("loadtest: reading the shared list back: %s", check.first)
		}
		rep.LostUpdates += max(0, pushed.Load()-n)
		rep.Phantoms += max(0, n-pushTried.Load())
	}
	return rep, nil
}

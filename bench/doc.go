// Package bench measures one HTTP request through sessionkit, through
// github.com/alexedwards/scs/v2 and through github.com/gorilla/sessions, side
// by side, on stores that correspond: the same session contents, the same
// handler bodies, the same httptest request and recorder.
//
// It is a module of its own, so that sessionkit never depends on its
// competitors. Everything is in the tests:
//
//	go test -run '^$' -bench . -benchmem -cpu 1 -count 6   # the benchmarks
//	go test -run Correct                                    # they measure real work
//
// bash run.sh runs both passes (sequential at -cpu 1, parallel reads at the
// default GOMAXPROCS), keeps the raw output in results/, and rewrites the
// marked section of ../BENCHMARKS.md with cmd/report.
//
// BenchmarkConcurrentRead measures reads under 1 to 256 concurrent clients on
// the server stores, beside the bare round trip of each store's client and
// scs; bash concurrency.sh runs it in rounds and rewrites its own section of
// ../BENCHMARKS.md.
//
// BenchmarkInterleavedRead serves sessionkit's and scs's read and the bare
// query of the store in one loop, on one connection where the libraries can
// share a client, for the ratio of their overheads above that bound:
//
//	go test -run '^$' -bench InterleavedRead -cpu 1 -count 8 -benchtime 2s
package bench

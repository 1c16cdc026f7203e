package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// scaleID returns the ID of row i written by scaleFill with prefix (4
// bytes, so the ID has the Manager's 43 characters).
func scaleID(prefix string, i int) string { return fmt.Sprintf("%s%039d", prefix, i) }

// scaleFill inserts rows scaleID(prefix, 1..n) with expiry exp, in one
// statement run by the server (a recursive CTE in SQLite, generate_series
// in PostgreSQL), through the store's own pool.
func scaleFill(b *testing.B, st *sqlstore.Store, n int, prefix, payload string, exp time.Time) {
	b.Helper()
	var q string
	switch st.Dialect() {
	case sqlstore.SQLite:
		q = `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?3)
			INSERT INTO ` + st.Table() + ` (id, payload, lastActivity, expiresAt) SELECT printf('%s%039d', ?4, i), ?1, ?2, ?5 FROM c`
	case sqlstore.Postgres:
		q = `INSERT INTO ` + st.Table() + ` (id, payload, "lastActivity", "expiresAt")
			SELECT $4 || lpad(i::text, 39, '0'), $1, $2, $5 FROM generate_series(1, $3::int) i`
	default:
		b.Fatalf("scaleFill: dialect %q not covered", st.Dialect())
	}
	if _, err := st.DB().Exec(q, payload, time.Now().Unix(), n, prefix, exp.UnixMilli()); err != nil {
		b.Fatalf("scaleFill: %v", err)
	}
}

// BenchmarkScale measures how the database store's costs grow with the
// number of stored sessions N, on SQLite and PostgreSQL: one Load and one
// Update of a random session among N, one Sweep that finds nothing due
// among N live sessions (Sweep0), and one Sweep that removes the 1% of N
// that expired (Sweep1pct; N/100 expired rows are inserted, untimed, before
// each). Rows are inserted by one INSERT ... SELECT that the server runs.
// N is 10,000, and also 1,000,000 with SESSION_SCALE=1m:
//
//	go test -run '^$' -bench Scale ./sqlstore/
//	SESSION_SCALE=1m go test -run '^$' -bench 'Scale/.*/N=1000000' -timeout 80m ./sqlstore/
func BenchmarkScale(b *testing.B) {
	const lifetime = 2 * time.Hour
	payload := `{"v":1,"data":{"user":{"id":42,"name":"Ana"},"cart":["apple","pear"]},"token":"` +
		"tttttttttttttttttttttttttttttttttttttttttt" + `","flash":{}}`
	for _, be := range backends {
		if be.dialect != sqlstore.SQLite && be.dialect != sqlstore.Postgres {
			continue
		}
		b.Run(be.name, func(b *testing.B) {
			for _, n := range storetest.ScaleSizes(10_000) {
				b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
					st := openStore(b, be.newURL(b), sqlstore.Options{Table: fmt.Sprintf("scale_%d", n), Lifetime: lifetime})
					ctx := context.Background()
					dead := n / 100
					live := n - dead
					start := time.Now()
					scaleFill(b, st, live, "live", payload, time.Now().Add(lifetime))
					b.Logf("inserted %d rows in %v", live, time.Since(start))
					randomLive := func() string { return scaleID("live", 1+rand.IntN(live)) }

					b.Run("Load", func(b *testing.B) {
						for b.Loop() {
							if _, _, found, err := st.Load(ctx, randomLive()); !found || err != nil {
								b.Fatalf("Load: found=%v err=%v", found, err)
							}
						}
					})
					b.Run("Update", func(b *testing.B) {
						exp := time.Now().Add(lifetime)
						fn := func(data []byte, found bool) ([]byte, time.Time, error) {
							if !found {
								return nil, time.Time{}, fmt.Errorf("live row not found")
							}
							return data, exp, nil
						}
						for b.Loop() {
							if err := st.Update(ctx, randomLive(), fn); err != nil {
								b.Fatal(err)
							}
						}
					})
					b.Run("Sweep0", func(b *testing.B) {
						for b.Loop() {
							if removed, err := st.Sweep(ctx); removed != 0 || err != nil {
								b.Fatalf("Sweep = (%d, %v), want (0, nil)", removed, err)
							}
						}
					})
					b.Run("Sweep1pct", func(b *testing.B) {
						for b.Loop() {
							b.StopTimer()
							scaleFill(b, st, dead, "dead", payload, time.Now().Add(-time.Hour))
							b.StartTimer()
							if removed, err := st.Sweep(ctx); removed != dead || err != nil {
								b.Fatalf("Sweep = (%d, %v), want (%d, nil)", removed, err, dead)
							}
						}
						b.ReportMetric(float64(dead), "removed/op")
					})
				})
			}
		})
	}
}

package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

func TestPayloadEncoding(t *testing.T) {
	for _, data := range [][]byte{
		nil, {}, []byte(`{"a":1}`), []byte("sk1.abc-_"), []byte("ünïcödé 😀"),
		{0}, []byte("nul\x00inside"), {0xff, 0xfe}, []byte("\x01starts with the mark"), {1},
	} {
		enc := sqlstore.EncodePayload(data)
		if got := sqlstore.DecodePayload([]byte(enc)); !bytes.Equal(got, data) {
			t.Errorf("%q: encoded %q, decoded %q", data, enc, got)
		}
		if strings.IndexByte(enc, 0) >= 0 {
			t.Errorf("%q encodes to %q, with a NUL", data, enc)
		}
	}
	for _, text := range []string{`{"a":1}`, "sk1.abc-_", "ünïcödé"} {
		if enc := sqlstore.EncodePayload([]byte(text)); enc != text {
			t.Errorf("text %q is stored as %q, want it verbatim", text, enc)
		}
	}
}

// The table holds what other programs expect: the payload as text,
// lastActivity the time of the last write or touch in Unix seconds, and
// expiresAt the record's own expiry in Unix milliseconds, whatever
// Options.Lifetime is.
func TestTableLayout(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		st := openStore(t, b.newURL(t), sqlstore.Options{Lifetime: 2 * time.Hour, Table: "layout"})
		ctx := t.Context()
		la, ex := quoteCol(b.dialect, "lastActivity"), quoteCol(b.dialect, "expiresAt")
		read := func(id string) (payload string, lastActivity, expiresAt int64) {
			t.Helper()
			err := st.DB().QueryRowContext(ctx, "SELECT payload, "+la+", "+ex+" FROM layout WHERE id = "+placeholder(b.dialect), id).
				Scan(&payload, &lastActivity, &expiresAt)
			if err != nil {
				t.Fatal(err)
			}
			return payload, lastActivity, expiresAt
		}
		// nearNow reports whether Unix seconds sec are within a few seconds
		// of now.
		nearNow := func(sec int64) bool {
			d := time.Since(time.Unix(sec, 0))
			return d > -time.Second && d < 5*time.Second
		}

		id := storetest.NewID()
		exp := time.Now().Add(90 * time.Minute)
		payload := `{"v":1,"data":{"user":"Ana","ünï":"😀"}}`
		if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte(payload), exp, nil }); err != nil {
			t.Fatal(err)
		}
		gotPayload, gotLA, gotEx := read(id)
		if gotPayload != payload {
			t.Errorf("payload column = %q, want %q", gotPayload, payload)
		}
		if gotEx != exp.UnixMilli() {
			t.Errorf("expiresAt = %d, want the expiry in Unix milliseconds, %d", gotEx, exp.UnixMilli())
		}
		if !nearNow(gotLA) {
			t.Errorf("lastActivity = %v, want the time of the write", time.Unix(gotLA, 0))
		}
		_, gotExp, found, err := st.Load(ctx, id)
		if err != nil || !found || !gotExp.Equal(exp.Truncate(time.Millisecond)) {
			t.Errorf("Load: expiry %v (found %v, %v), want %v to the millisecond", gotExp, found, err, exp)
		}

		// Touch and Swap write both times too.
		exp2 := time.Now().Add(3 * time.Hour)
		if _, err := st.DB().ExecContext(ctx, "UPDATE layout SET "+la+" = 1 WHERE id = "+placeholder(b.dialect), id); err != nil {
			t.Fatal(err)
		}
		if err := st.Touch(ctx, id, exp2); err != nil {
			t.Fatal(err)
		}
		if _, gotLA, gotEx = read(id); gotEx != exp2.UnixMilli() || !nearNow(gotLA) {
			t.Errorf("after Touch: lastActivity %v, expiresAt %d, want now and %d", time.Unix(gotLA, 0), gotEx, exp2.UnixMilli())
		}
		if ok, err := st.Swap(ctx, id, []byte(payload), []byte("{}"), exp); !ok || err != nil {
			t.Fatalf("Swap = %v, %v", ok, err)
		}
		if _, _, gotEx = read(id); gotEx != exp.UnixMilli() {
			t.Errorf("after Swap: expiresAt %d, want %d", gotEx, exp.UnixMilli())
		}

		// A row another program writes is live until its expiresAt,
		// whatever its lastActivity and Options.Lifetime; one with
		// expiresAt 0 (a program unaware of the column) has no expiry: it
		// does not load and no sweep removes it.
		for _, tc := range []struct {
			name   string
			age    time.Duration // of lastActivity
			expiry int64
			live   bool
		}{
			{"fresh", 0, time.Now().Add(time.Minute).UnixMilli(), true},
			{"old but long-lived", 10 * time.Hour, time.Now().Add(time.Minute).UnixMilli(), true},
			{"new but expired", 0, time.Now().Add(-time.Second).UnixMilli(), false},
			{"no expiry", 0, 0, false},
		} {
			other := storetest.NewID()
			_, err := st.DB().ExecContext(ctx, "INSERT INTO layout (id, payload, "+la+", "+ex+") VALUES ("+
				placeholders(b.dialect, 4)+")", other, "{}", time.Now().Add(-tc.age).Unix(), tc.expiry)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, found, err := st.Load(ctx, other); found != tc.live || err != nil {
				t.Errorf("row %s: found = %v (%v), want %v", tc.name, found, err, tc.live)
			}
		}
		if n, err := st.Sweep(ctx); n != 1 || err != nil {
			t.Errorf("Sweep = (%d, %v), want the one expired row", n, err)
		}
		var rows int
		if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM layout WHERE "+ex+" = 0").Scan(&rows); err != nil || rows != 1 {
			t.Errorf("rows without an expiry after Sweep: %d (%v), want 1", rows, err)
		}
	})
}

func placeholder(d sqlstore.Dialect) string { return placeholders(d, 1) }

func placeholders(d sqlstore.Dialect, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "?"
		if d == sqlstore.Postgres {
			ps[i] = fmt.Sprintf("$%d", i+1)
		}
	}
	return strings.Join(ps, ", ")
}

// Sweep removes expired rows in batches and reports them all.
func TestSweepBatches(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		st := openStore(t, b.newURL(t), sqlstore.Options{SweepBatch: 3})
		ctx := t.Context()
		past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		for i := range 17 {
			exp := past
			if i%4 == 0 {
				exp = future // 5 live
			}
			if err := st.Update(ctx, storetest.NewID(), func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
				t.Fatal(err)
			}
		}
		n, err := st.Sweep(ctx)
		if err != nil || n != 12 {
			t.Errorf("Sweep = (%d, %v), want (12, nil) in batches of 3", n, err)
		}
		var left int
		if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions").Scan(&left); err != nil || left != 5 {
			t.Errorf("%d rows left (%v), want the 5 live ones", left, err)
		}
	})
}

func TestList(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		st := openStore(t, b.newURL(t), sqlstore.Options{})
		ctx := t.Context()
		var live []string
		for i := range 6 {
			id, exp := storetest.NewID(), time.Now().Add(time.Hour)
			if i%2 == 0 {
				exp = time.Now().Add(-time.Hour)
			} else {
				live = append(live, id)
			}
			if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		err := st.List(ctx, func(id string, exp time.Time) bool {
			got = append(got, id)
			if !exp.After(time.Now()) {
				t.Errorf("List gave %s with expiry %v, in the past", id, exp)
			}
			return true
		})
		slices.Sort(got)
		slices.Sort(live)
		if err != nil || !slices.Equal(got, live) {
			t.Errorf("List = %v (%v), want the live %v", got, err, live)
		}
		calls := 0
		st.List(ctx, func(string, time.Time) bool { calls++; return false })
		if calls != 1 {
			t.Errorf("List went on after fn returned false: %d calls", calls)
		}
	})
}

func TestInvalidIDs(t *testing.T) {
	st := openStore(t, backends[0].newURL(t), sqlstore.Options{})
	ctx := t.Context()
	fn := func([]byte, bool) ([]byte, time.Time, error) {
		t.Error("fn called for an invalid ID")
		return []byte("x"), time.Now().Add(time.Hour), nil
	}
	for _, id := range []string{"", "a b", "a/b", "é", "a\x00", strings.Repeat("a", 129), "'; DROP TABLE sessions; --"} {
		if _, _, found, err := st.Load(ctx, id); found || err != nil {
			t.Errorf("Load(%q) = (%v, %v)", id, found, err)
		}
		if err := st.Update(ctx, id, fn); !errors.Is(err, sqlstore.ErrInvalidID) {
			t.Errorf("Update(%q) = %v", id, err)
		}
		if err := st.Delete(ctx, id); !errors.Is(err, sqlstore.ErrInvalidID) {
			t.Errorf("Delete(%q) = %v", id, err)
		}
		if err := st.Touch(ctx, id, time.Now()); !errors.Is(err, sqlstore.ErrInvalidID) {
			t.Errorf("Touch(%q) = %v", id, err)
		}
		if err := st.Move(ctx, id, storetest.NewID(), fn); !errors.Is(err, sqlstore.ErrInvalidID) {
			t.Errorf("Move(%q, ...) = %v", id, err)
		}
		if err := st.Move(ctx, storetest.NewID(), id, fn); !errors.Is(err, sqlstore.ErrInvalidID) {
			t.Errorf("Move(..., %q) = %v", id, err)
		}
	}
	if err := st.Move(ctx, "same", "same", fn); !errors.Is(err, sqlstore.ErrExists) {
		t.Errorf("Move onto itself = %v, want ErrExists", err)
	}
	// The longest valid ID works.
	long := strings.Repeat("Z", 128)
	if err := st.Update(ctx, long, func([]byte, bool) ([]byte, time.Time, error) { return []byte("ok"), time.Now().Add(time.Hour), nil }); err != nil {
		t.Fatal(err)
	}
	if d, _, found, err := st.Load(ctx, long); !found || err != nil || string(d) != "ok" {
		t.Errorf("Load of a 128-character ID = (%q, %v, %v)", d, found, err)
	}
}

// Every method returns the context's error, having written nothing, when the
// context has ended before the call.
func TestEndedContext(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		st := openStore(t, b.newURL(t), sqlstore.Options{})
		id, other := storetest.NewID(), storetest.NewID()
		exp := time.Now().Add(time.Hour)
		for _, x := range []string{id, other} {
			if err := st.Update(t.Context(), x, func([]byte, bool) ([]byte, time.Time, error) { return []byte("kept"), exp, nil }); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		write := func([]byte, bool) ([]byte, time.Time, error) { return []byte("written"), exp, nil }
		for name, err := range map[string]error{
			"Delete": st.Delete(ctx, id),
			"Touch":  st.Touch(ctx, id, time.Now().Add(-time.Hour)),
			"Move":   st.Move(ctx, id, storetest.NewID(), write),
			"Update": st.Update(ctx, other, write),
			"List":   st.List(ctx, func(string, time.Time) bool { return true }),
			"Sweep": func() error {
				_, err := st.Sweep(ctx)
				return err
			}(),
		} {
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Errorf("%s with a canceled context: error = %v, want a sqlstore error wrapping context.Canceled", name, err)
			}
		}
		for _, x := range []string{id, other} {
			if d, e, found, err := st.Load(t.Context(), x); !found || err != nil || string(d) != "kept" || exp.Sub(e) > time.Second {
				t.Errorf("after the canceled calls, Load = (%q, %v, %v, %v), want the record unchanged", d, e, found, err)
			}
		}
	})
}

// A panic in fn rolls the transaction back and releases the row.
func TestUpdatePanicReleasesRow(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		st := openStore(t, b.newURL(t), sqlstore.Options{})
		id := storetest.NewID()
		exp := time.Now().Add(time.Hour)
		put := func(data string) error {
			return st.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) { return []byte(data), exp, nil })
		}
		if err := put("before"); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() { recover() }()
			st.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) { panic("boom") })
		}()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		err := st.Update(ctx, id, func(d []byte, found bool) ([]byte, time.Time, error) {
			if string(d) != "before" {
				t.Errorf("after a panicking Update, fn sees %q", d)
			}
			return []byte("after"), exp, nil
		})
		if err != nil {
			t.Fatalf("Update after a panicking one: %v (the row stayed locked?)", err)
		}
	})
}

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

// The table holds what other programs expect: the payload as text and
// lastActivity = expiry - Lifetime in Unix seconds.
func TestTableLayout(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const lifetime = 2 * time.Hour
		st := openStore(t, b.newURL(t), sqlstore.Options{Lifetime: lifetime, Table: "layout"})
		ctx := t.Context()
		id := storetest.NewID()
		exp := time.Now().Add(90 * time.Minute)
		payload := `{"v":1,"data":{"user":"Ana","ünï":"😀"}}`
		if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte(payload), exp, nil }); err != nil {
			t.Fatal(err)
		}
		var (
			gotPayload string
			la         int64
		)
		err := st.DB().QueryRowContext(ctx, "SELECT payload, "+quoteCol(b.dialect, "lastActivity")+" FROM layout WHERE id = "+placeholder(b.dialect), id).
			Scan(&gotPayload, &la)
		if err != nil {
			t.Fatal(err)
		}
		if gotPayload != payload {
			t.Errorf("payload column = %q, want %q", gotPayload, payload)
		}
		if want := exp.Add(-lifetime).Unix(); la != want {
			t.Errorf("lastActivity = %d, want expiry - lifetime = %d", la, want)
		}
		_, gotExp, found, err := st.Load(ctx, id)
		if err != nil || !found || gotExp.After(exp) || exp.Sub(gotExp) >= time.Second {
			t.Errorf("Load: expiry %v (found %v, %v), want %v rounded down to the second", gotExp, found, err, exp)
		}

		// A row another program writes with lastActivity = now is live for
		// Lifetime; one older than Lifetime is expired.
		for _, tc := range []struct {
			age  time.Duration
			live bool
		}{{0, true}, {lifetime - time.Minute, true}, {lifetime + time.Second, false}} {
			other := storetest.NewID()
			_, err := st.DB().ExecContext(ctx, "INSERT INTO layout (id, payload, "+quoteCol(b.dialect, "lastActivity")+") VALUES ("+
				placeholders(b.dialect, 3)+")", other, "{}", time.Now().Add(-tc.age).Unix())
			if err != nil {
				t.Fatal(err)
			}
			if _, _, found, err := st.Load(ctx, other); found != tc.live || err != nil {
				t.Errorf("row with lastActivity %v ago: found = %v (%v), want %v", tc.age, found, err, tc.live)
			}
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

package session

// Fuzz targets for everything that parses what a client or a store sends.
// Each checks properties, not only the absence of panics. Seeds: the f.Add
// calls below and testdata/fuzz/FuzzX; scripts/fuzz.sh runs every target for
// a bounded time. The secrets and IDs are fixed, so that the corpus files
// (which hold valid signed and sealed values) stay valid.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sessionkit/session/memstore"
)

const (
	fuzzSecret    = "fuzz secret: not for production - a test secret, not for production"
	fuzzOldSecret = "previous fuzz secret: not for production"
	fuzzForeign   = "another application's secret"
)

// Fixed session IDs of the fuzz targets' stored sessions: fuzzIDA and
// fuzzIDB are stored, fuzzIDC is signed but never stored.
var (
	fuzzIDA = "fuzzSessionA" + strings.Repeat("a", idLen-12)
	fuzzIDB = "fuzzSessionB" + strings.Repeat("b", idLen-12)
	fuzzIDC = "fuzzSessionC" + strings.Repeat("c", idLen-12)
)

// fuzzToken is the CSRF token of the stored sessions.
var fuzzToken = "fuzzToken-" + strings.Repeat("T", idLen-10)

// fuzzFarFuture is the cookie driver deadline of the seed cookies: Unix
// milliseconds of 2100-01-01.
const fuzzFarFuture = int64(4102444800000)

func fuzzSigner(secrets ...string) signer {
	return newSigner(deriveKeys(secrets, purposeCookie))
}

func fuzzSealer(secrets ...string) sealer {
	return newSealer(deriveKeys(secrets, purposeSeal))
}

// fuzzManager returns a Manager with the fuzz secrets, no lottery and a
// discarded log, over st (nil: the cookie driver).
func fuzzManager(tb testing.TB, st Store, cfg Config) *Manager {
	tb.Helper()
	cfg.Secret = fuzzSecret
	cfg.PreviousSecrets = []string{fuzzOldSecret}
	cfg.Lottery = [2]int{0, 1}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Store = st
	if st == nil {
		cfg.Driver = "cookie"
	}
	m, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// fuzzState is the stored state of the session whose ID is id: its "owner"
// names the session.
func fuzzState(id string) state {
	return state{data: map[string]any{"owner": id, "n": 1}, token: fuzzToken}
}

// storeFuzzSessions stores fuzzIDA and fuzzIDB through m and returns the
// stored payloads.
func storeFuzzSessions(tb testing.TB, m *Manager) map[string][]byte {
	tb.Helper()
	stored := map[string][]byte{}
	for _, id := range []string{fuzzIDA, fuzzIDB} {
		st := fuzzState(id)
		raw, err := m.encode(id, &st)
		if err != nil {
			tb.Fatal(err)
		}
		err = m.store.Update(context.Background(), id, func([]byte, bool) ([]byte, time.Time, error) {
			return raw, time.Now().Add(24 * time.Hour), nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		stored[id] = raw
	}
	return stored
}

// fuzzID maps any bytes to a valid session ID.
func fuzzID(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// FuzzCookieVerify: verify never panics; it accepts exactly the values that
// sign gives under one of the keys, and then returns the ID they carry.
func FuzzCookieVerify(f *testing.F) {
	cur, old := fuzzSigner(fuzzSecret), fuzzSigner(fuzzOldSecret)
	both := fuzzSigner(fuzzSecret, fuzzOldSecret)
	for _, id := range []string{fuzzIDA, fuzzIDC} {
		f.Add(cur.sign(id))
		f.Add(old.sign(id))
		f.Add(fuzzSigner(fuzzForeign).sign(id))
	}
	f.Add("")
	f.Add(fuzzIDA)
	f.Add(fuzzIDA + ".")
	f.Add(strings.Repeat("A", idLen) + "." + strings.Repeat("A", 43))
	f.Add(strings.Replace(cur.sign(fuzzIDA), ".", "=", 1))
	f.Fuzz(func(t *testing.T, value string) {
		id, rotated, ok := both.verify(value)
		if !ok {
			if id != "" || rotated {
				t.Fatalf("verify(%q) failed but returned id %q, rotated %v", value, id, rotated)
			}
			if len(value) >= idLen && validID(value[:idLen]) {
				if p := value[:idLen]; value == cur.sign(p) || value == old.sign(p) {
					t.Fatalf("verify refused the genuine cookie value %q", value)
				}
			}
			return
		}
		if !validID(id) || !strings.HasPrefix(value, id) {
			t.Fatalf("verify(%q) returned id %q, which the value does not carry", value, id)
		}
		want := cur.sign(id)
		if rotated {
			want = old.sign(id)
		}
		if value != want {
			t.Fatalf("verify accepted %q (rotated %v); the signed value is %q", value, rotated, want)
		}
	})
}

// FuzzCookieTamper: a valid cookie value changed in any way (a byte
// replaced, inserted or deleted, the value cut) never verifies, unless the
// change leaves it as it was; the original verifies with exactly its ID.
func FuzzCookieTamper(f *testing.F) {
	s := fuzzSigner(fuzzSecret, fuzzOldSecret)
	f.Add([]byte("a"), uint16(0), byte('B'), uint8(0))
	f.Add([]byte("b"), uint16(86), byte(1), uint8(0))   // the signature's last character
	f.Add([]byte("c"), uint16(43), byte('A'), uint8(0)) // the dot
	f.Add([]byte("d"), uint16(50), byte('x'), uint8(1))
	f.Add([]byte("e"), uint16(87), byte('A'), uint8(2))
	f.Add([]byte("f"), uint16(10), byte(0), uint8(3))
	f.Fuzz(func(t *testing.T, seed []byte, pos uint16, b byte, mode uint8) {
		id := fuzzID(seed)
		good := s.sign(id)
		if got, rotated, ok := s.verify(good); !ok || rotated || got != id {
			t.Fatalf("verify(sign(%q)) = %q, %v, %v", id, got, rotated, ok)
		}
		v := []byte(good)
		i := int(pos) % (len(v) + 1)
		switch mode % 4 {
		case 0: // replace a byte
			if i == len(v) {
				i--
			}
			v[i] = b
		case 1: // insert a byte
			v = slices.Insert(v, i, b)
		case 2: // delete a byte
			if i == len(v) {
				i--
			}
			v = slices.Delete(v, i, i+1)
		case 3: // cut
			v = v[:i]
		}
		got, _, ok := s.verify(string(v))
		if string(v) == good {
			if !ok || got != id {
				t.Fatalf("the unchanged value %q does not verify", v)
			}
			return
		}
		if ok {
			t.Fatalf("tampered value %q (from %q) verified as %q", v, good, got)
		}
	})
}

// fuzzRequest returns a request with method and body whose Cookie header is
// header (none when empty).
func fuzzRequest(method, header string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, "/", body)
	if header != "" {
		r.Header["Cookie"] = []string{header}
	}
	return r
}

// fuzzSeen is what a handler saw of its session.
type fuzzSeen struct {
	id    string
	owner any
	data  map[string]any
}

func fuzzServe(m *Manager, r *http.Request) (*httptest.ResponseRecorder, fuzzSeen) {
	var seen fuzzSeen
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		seen = fuzzSeen{id: s.ID(), owner: s.Get("owner"), data: s.All()}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec, seen
}

// FuzzMiddlewareCookie: whatever Cookie header a client sends, the
// middleware answers (status 200, never the error handler) and the handler
// sees either a fresh, empty session whose ID is none of the stored ones, or
// the stored session whose validly signed cookie the request carried, with
// that session's own data. Run with and without Encrypt.
func FuzzMiddlewareCookie(f *testing.F) {
	type env struct {
		m      *Manager
		stored map[string][]byte
	}
	envs := map[bool]env{}
	for _, encrypt := range []bool{false, true} {
		m := fuzzManager(f, memstore.New(), Config{Encrypt: encrypt})
		envs[encrypt] = env{m, storeFuzzSessions(f, m)}
	}
	cur, old := fuzzSigner(fuzzSecret), fuzzSigner(fuzzOldSecret)
	// valid maps each validly signed cookie value to its ID.
	valid := map[string]string{}
	for _, id := range []string{fuzzIDA, fuzzIDB, fuzzIDC} {
		valid[cur.sign(id)] = id
		valid[old.sign(id)] = id
	}
	a, b := cur.sign(fuzzIDA), cur.sign(fuzzIDB)
	for _, h := range []string{
		"session=" + a,
		"session=" + old.sign(fuzzIDB),
		"session=" + cur.sign(fuzzIDC),
		"session=" + fuzzSigner(fuzzForeign).sign(fuzzIDA),
		"session=garbage; session=" + b,
		"session=" + a + "; session=" + b,
		"session=\"" + a + "\"",
		"other=" + a,
		"session=" + a[:len(a)-1],
		"session=" + fuzzIDA,
		"",
		"session=",
	} {
		f.Add(h, false)
		f.Add(h, true)
	}
	f.Fuzz(func(t *testing.T, header string, encrypt bool) {
		e := envs[encrypt]
		r := fuzzRequest(http.MethodGet, header, nil)
		sent := map[string]bool{} // IDs of the validly signed cookies sent
		for _, c := range r.CookiesNamed("session") {
			if id, ok := valid[c.Value]; ok {
				sent[id] = true
			}
		}
		rec, seen := fuzzServe(e.m, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("Cookie %q: status %d", header, rec.Code)
		}
		switch {
		case seen.owner == nil:
			if len(seen.data) != 0 {
				t.Fatalf("Cookie %q: a session without owner holds %v", header, seen.data)
			}
			if seen.id == fuzzIDA || seen.id == fuzzIDB || seen.id == fuzzIDC || sent[seen.id] {
				t.Fatalf("Cookie %q: a fresh session took the ID %q", header, seen.id)
			}
		case seen.owner != seen.id:
			t.Fatalf("Cookie %q: session %q holds the data of %v", header, seen.id, seen.owner)
		case !sent[seen.id]:
			t.Fatalf("Cookie %q: session %q loaded without its signed cookie", header, seen.id)
		case !reflect.DeepEqual(seen.data, fuzzState(seen.id).data):
			t.Fatalf("Cookie %q: session %q loaded as %v", header, seen.id, seen.data)
		}
		// Read-only requests never change a stored payload.
		for id, want := range e.stored {
			got, _, found, err := e.m.store.Load(context.Background(), id)
			if err != nil || !found || !bytes.Equal(got, want) {
				t.Fatalf("Cookie %q: session %s changed: %q, %v, %v", header, id, got, found, err)
			}
		}
	})
}

// fuzzCookieDriverValue seals the cookie driver envelope of st with id and
// deadline exp under secret, with a fixed nonce, so that seeds are
// reproducible.
func fuzzCookieDriverValue(tb testing.TB, secret string, st state, id string, exp int64, nonce byte) string {
	tb.Helper()
	plain, err := encodeClientState(&st, clientFields{ID: id, Exp: exp})
	if err != nil {
		tb.Fatal(err)
	}
	return fuzzSealRaw(tb, secret, []byte("session"), plain, nonce)
}

// fuzzSealRaw is sealRaw with the cookie driver's key for secret and a fixed
// nonce, written out with crypto/cipher so that it does not depend on the
// code under test.
func fuzzSealRaw(tb testing.TB, secret string, ad, plain []byte, nonce byte) string {
	return base64.RawURLEncoding.EncodeToString(fuzzGCM(tb, secret, purposeCookieStore, ad, plain, nonce))
}

// fuzzGCM returns nonce || AES-256-GCM ciphertext of plain with additional
// data ad, under the key derived from secret for purpose, the nonce being
// the byte nonce repeated.
func fuzzGCM(tb testing.TB, secret, purpose string, ad, plain []byte, nonce byte) []byte {
	tb.Helper()
	block, err := aes.NewCipher(deriveKeys([]string{secret}, purpose)[0])
	if err != nil {
		tb.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		tb.Fatal(err)
	}
	n := bytes.Repeat([]byte{nonce}, aead.NonceSize())
	return aead.Seal(n, n, plain, ad)
}

// fuzzCookieDriverSeeds returns cookie driver values and the ID each one
// must load ("" for a value that must start a fresh session).
func fuzzCookieDriverSeeds(tb testing.TB) map[string]string {
	tb.Helper()
	seeds := map[string]string{
		fuzzCookieDriverValue(tb, fuzzSecret, fuzzState(fuzzIDA), fuzzIDA, fuzzFarFuture, 1):    fuzzIDA,
		fuzzCookieDriverValue(tb, fuzzOldSecret, fuzzState(fuzzIDB), fuzzIDB, fuzzFarFuture, 2): fuzzIDB,
		// Expired, foreign, an invalid ID, another cookie name's key, not an envelope.
		fuzzCookieDriverValue(tb, fuzzSecret, fuzzState(fuzzIDC), fuzzIDC, 1, 3):                 "",
		fuzzCookieDriverValue(tb, fuzzForeign, fuzzState(fuzzIDC), fuzzIDC, fuzzFarFuture, 4):    "",
		fuzzCookieDriverValue(tb, fuzzSecret, fuzzState("../../x"), "../../x", fuzzFarFuture, 5): "",
		fuzzSealRaw(tb, fuzzSecret, []byte("other"), []byte(`{"v":1}`), 6):                       "",
		fuzzSealRaw(tb, fuzzSecret, []byte("session"), []byte(`not json`), 7):                    "",
	}
	return seeds
}

// FuzzCookieDriver: whatever Cookie header a client sends to the cookie
// driver, the middleware answers 200 and the handler sees a fresh, empty
// session, unless the request carried one of the sealed seed values, which
// load exactly the session sealed in them. Sealed data cannot be forged, so
// no mutation of a seed may load anything.
func FuzzCookieDriver(f *testing.F) {
	m := fuzzManager(f, nil, Config{})
	seeds := fuzzCookieDriverSeeds(f)
	for v := range seeds {
		f.Add("session=" + v)
		f.Add("session=x; session=" + v)
		f.Add("session=" + v[:len(v)-1])
	}
	f.Add("session=" + strings.Repeat("A", 5000))
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		r := fuzzRequest(http.MethodGet, header, nil)
		want := ""
		for _, c := range r.CookiesNamed("session") {
			if id, ok := seeds[c.Value]; ok {
				want = id // the middleware stops at the first that opens
				break
			}
		}
		rec, seen := fuzzServe(m, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("Cookie %q: status %d", header, rec.Code)
		}
		if want == "" {
			if seen.owner != nil || len(seen.data) != 0 {
				t.Fatalf("Cookie %q: loaded data %v", header, seen.data)
			}
			if seen.id == fuzzIDA || seen.id == fuzzIDB || seen.id == fuzzIDC {
				t.Fatalf("Cookie %q: a fresh session took the ID %q", header, seen.id)
			}
			return
		}
		if seen.id != want || !reflect.DeepEqual(seen.data, fuzzState(want).data) {
			t.Fatalf("Cookie %q: loaded %q with %v, want %q", header, seen.id, seen.data, want)
		}
	})
}

// FuzzDecodeState: decodeState never panics on any bytes; it fails with an
// error wrapping ErrCorrupt, or returns a state that encodes, and whose
// encoding decodes to the same state up to the library's number rule (see
// canonValue); a second round trip changes nothing, byte for byte.
func FuzzDecodeState(f *testing.F) {
	for _, s := range []string{
		`{"v":1}`,
		`{"v":1,"data":{"user":{"name":"Ana","roles":["a","b"]},"n":42,"f":1.5,"big":123456789012345678901234567890,"neg":-7,"t":true,"z":null}}`,
		`{"v":1,"data":{"msg":"hi"},"flash":["msg"],"token":"tok","ott":["a","b"]}`,
		`{"v":1,"data":{"a":1.0,"b":1e2,"c":-0.0,"d":1E400,"e":0.000001,"f":1e-7,"g":9223372036854775808}}`,
		`{"v":1,"data":{"\u00e9":"\ud800","x":"\xff"}}`,
		`{"v":1,"data":{"a":1,"a":2}}`,
		`{"V":1,"DATA":{"k":"v"}}`,
		`{"v":1,"id":"x","exp":5,"data":{}}`,
		`{"v":1,"flash":[],"ott":[]}`,
		`{"v":2}`, `{"v":1,"data":[1]}`, `{"v":1} {}`, `null`, `[]`, `"sk1.abc"`, ``, `{"v":1,"data":{"a":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b)
		if _, _, cerr := decodeClientState(b); (cerr == nil) != (err == nil) {
			t.Fatalf("decodeState and decodeClientState disagree on %q: %v, %v", b, err, cerr)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeState(%q): error %v does not wrap ErrCorrupt", b, err)
			}
			return
		}
		if st.data == nil {
			t.Fatalf("decodeState(%q): nil data map", b)
		}
		want, ok := canonState(st)
		if !ok {
			return // two keys that encoding/json cannot tell apart: see canonString
		}
		enc, err := encodeState(&st)
		if err != nil {
			t.Fatalf("decoded state of %q does not encode: %v", b, err)
		}
		st2, err := decodeState(enc)
		if err != nil {
			t.Fatalf("encoding %q of a decoded state does not decode: %v", enc, err)
		}
		if !stateEqual(st2, want) {
			t.Fatalf("round trip of %q:\n got  %#v\n want %#v", b, st2, want)
		}
		// After one round trip, the encoding is a fixed point.
		enc2, err := encodeState(&st2)
		if err != nil {
			t.Fatalf("%#v does not encode: %v", st2, err)
		}
		st3, err := decodeState(enc2)
		if err != nil || !stateEqual(st3, st2) {
			t.Fatalf("not stable after one round trip: %q decodes to %#v (%v), want %#v", enc2, st3, err, st2)
		}
		if enc3 := mustEncode(t, st3); !bytes.Equal(enc3, enc2) {
			t.Fatalf("not stable after one round trip: %q, then %q", enc2, enc3)
		}
	})
}

func mustCanon(t *testing.T, st state) state {
	t.Helper()
	c, ok := canonState(st)
	if !ok {
		t.Fatalf("no canonical form of %#v", st)
	}
	return c
}

func mustEncode(t *testing.T, st state) []byte {
	t.Helper()
	b, err := encodeState(&st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzStateRoundTrip: a state built from the fuzz bytes (strings, valid
// UTF-8 or not, ints, floats, booleans, nil, nested maps and lists, flash
// keys, tokens) encodes, unless it holds a NaN or an infinity (ErrEncode),
// and decodes to the same state up to the library's number rule: ints stay
// int, non-integral floats stay float64, integral floats come back as int
// (json.Number beyond int's range); strings come back as encoding/json
// stores them (invalid bytes as U+FFFD).
func FuzzStateRoundTrip(f *testing.F) {
	f.Add([]byte{5, 3, 4, 1, 'a', 2, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{5, 2, 4, 2, 'x', 'y', 3, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 4, 1, 'z', 6, 2, 4, 2, 0xff, 0xfe, 0})
	f.Add([]byte{5, 1, 4, 1, 'n', 3, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}) // NaN
	f.Add([]byte{5, 1, 4, 1, 'z', 3, 0x80, 0, 0, 0, 0, 0, 0, 0})    // -0.0
	f.Add([]byte{5, 1, 4, 1, 'b', 3, 0x43, 0xe0, 0, 0, 0, 0, 0, 0}) // 2^63
	f.Add([]byte{5, 2, 4, 1, 0xff, 0, 4, 1, 0xfe, 0})               // keys that both become U+FFFD
	f.Fuzz(func(t *testing.T, b []byte) {
		g := &gen{b: b}
		st := state{data: map[string]any{}}
		if m, ok := g.value(0).(map[string]any); ok {
			st.data = m
		}
		st.flashNow = g.strings()
		st.flashNext = g.strings()
		st.token = g.string()
		st.ott = g.strings()
		enc, err := encodeState(&st)
		if hasNonFinite(st.data) {
			if !errors.Is(err, ErrEncode) {
				t.Fatalf("a state holding a NaN or infinity: got %v, want ErrEncode", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("encodeState(%#v): %v", st, err)
		}
		want, ok := canonState(st)
		if !ok {
			return
		}
		got, err := decodeState(enc)
		if err != nil {
			t.Fatalf("decodeState(encodeState(%#v)) = %v", st, err)
		}
		if !stateEqual(got, want) {
			t.Fatalf("round trip through %q:\n got  %#v\n want %#v", enc, got, want)
		}
	})
}

// gen builds values from fuzz bytes; it yields zeros when they run out.
type gen struct {
	b []byte
}

func (g *gen) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *gen) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], g.b)
	g.b = g.b[n:]
	return binary.BigEndian.Uint64(buf[:])
}

func (g *gen) string() string {
	n := int(g.byte() % 16)
	n = min(n, len(g.b))
	s := string(g.b[:n])
	g.b = g.b[n:]
	return s
}

func (g *gen) strings() []string {
	var l []string
	for range g.byte() % 4 {
		l = append(l, g.string())
	}
	return l
}

func (g *gen) value(depth int) any {
	tag := g.byte() % 8
	if depth >= 4 && (tag == 5 || tag == 6) {
		tag = 0
	}
	switch tag {
	case 1:
		return g.byte()%2 == 1
	case 2:
		return int(int64(g.uint64()))
	case 3:
		return math.Float64frombits(g.uint64())
	case 4:
		return g.string()
	case 5:
		m := map[string]any{}
		for range g.byte() % 5 {
			k := g.string()
			m[k] = g.value(depth + 1)
		}
		return m
	case 6:
		l := []any{}
		for range g.byte() % 5 {
			l = append(l, g.value(depth+1))
		}
		return l
	case 7:
		return int(int8(g.byte()))
	}
	return nil
}

func hasNonFinite(v any) bool {
	switch v := v.(type) {
	case float64:
		return math.IsNaN(v) || math.IsInf(v, 0)
	case map[string]any:
		for _, e := range v {
			if hasNonFinite(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasNonFinite(e) {
				return true
			}
		}
	}
	return false
}

// canonString is s as encoding/json stores it: each byte that is not part
// of valid UTF-8 becomes U+FFFD.
func canonString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // utf8.RuneError for an invalid byte
		i += n
	}
	return b.String()
}

func canonStrings(l []string) []string {
	if len(l) == 0 {
		return nil // omitted when empty: decodes as nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = canonString(s)
	}
	return out
}

// canonValue is v as it reads after a store and a load, by the library's
// number rule, written out independently of codec.go: encoding/json writes
// a float64 that is an integer below 1e21 in its shortest decimal form,
// without a fraction or exponent, and such a number is read back as an int
// when it fits (as json.Number beyond); every other float64 stays a
// float64. It reports false
// when two keys of a map become one.
func canonValue(v any) (any, bool) {
	switch v := v.(type) {
	case float64:
		if math.Trunc(v) == v && math.Abs(v) < 1e21 {
			// The integer that the shortest decimal form names: beyond
			// 2^53 it may differ from v's exact value (40973926021566848
			// is written, and read back, as 40973926021566850).
			text := strconv.FormatFloat(v, 'f', -1, 64)
			if i, err := strconv.ParseInt(text, 10, 64); err == nil {
				return int(i), true
			}
			return json.Number(text), true
		}
		return v, true
	case string:
		return canonString(v), true
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			c, ok := canonValue(e)
			if !ok {
				return nil, false
			}
			ck := canonString(k)
			if _, dup := m[ck]; dup {
				return nil, false
			}
			m[ck] = c
		}
		return m, true
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			c, ok := canonValue(e)
			if !ok {
				return nil, false
			}
			l[i] = c
		}
		return l, true
	}
	return v, true
}

// canonState is st as it reads after a store and a load.
func canonState(st state) (state, bool) {
	data, ok := canonValue(st.data)
	if !ok {
		return state{}, false
	}
	return state{
		data:     data.(map[string]any),
		flashNow: canonStrings(slices.Concat(st.flashNow, st.flashNext)),
		token:    canonString(st.token),
		ott:      canonStrings(st.ott),
	}, true
}

func stateEqual(a, b state) bool {
	norm := func(l []string) []string {
		if len(l) == 0 {
			return nil
		}
		return l
	}
	return reflect.DeepEqual(a.data, b.data) &&
		reflect.DeepEqual(norm(a.flashNow), norm(b.flashNow)) &&
		reflect.DeepEqual(norm(a.flashNext), norm(b.flashNext)) &&
		a.token == b.token &&
		reflect.DeepEqual(norm(a.ott), norm(b.ott))
}

// FuzzSealed: a payload sealed under an ID opens under that ID only, to the
// same bytes; the current key opens what the previous secret sealed; any
// payload that differs from a sealed one in one byte fails with ErrCorrupt;
// and arbitrary bytes through the Manager's decoding and Open never panic
// and fail with ErrCorrupt unless they are a sealed payload, which then
// opens under its own ID only.
func FuzzSealed(f *testing.F) {
	m := fuzzManager(f, memstore.New(), Config{Encrypt: true})
	cur, old := fuzzSealer(fuzzSecret), fuzzSealer(fuzzOldSecret)
	both := fuzzSealer(fuzzSecret, fuzzOldSecret)
	ssA := fuzzState(fuzzIDA)
	sealedA, err := m.encode(fuzzIDA, &ssA)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fuzzIDA, []byte(`{"v":1}`), uint16(0), byte(1), sealedA)
	f.Add(fuzzIDB, []byte{}, uint16(41), byte(1), []byte("sk1."))
	f.Add("", []byte("x"), uint16(5), byte(0x80), []byte("sk1.AAAA"))
	f.Add("id", []byte("plain"), uint16(100), byte(2), []byte(`{"v":1,"data":{"a":1}}`))
	f.Add("id", []byte{0, 1, 2}, uint16(3), byte(4), []byte("sk1.!!!"))
	f.Add("id", []byte{}, uint16(0), byte(0), []byte("sk"))
	f.Fuzz(func(t *testing.T, id string, plain []byte, pos uint16, flip byte, junk []byte) {
		other := id + "x"
		sealed := cur.seal(id, plain)
		if !isSealed(sealed) {
			t.Fatalf("seal output %q lacks the prefix", sealed)
		}
		got, rotated, err := cur.open(id, sealed)
		if err != nil || rotated || !bytes.Equal(got, plain) {
			t.Fatalf("open(seal(%q)) = %q, %v, %v", plain, got, rotated, err)
		}
		if _, _, err := cur.open(other, sealed); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("a payload sealed under %q opened under %q: %v", id, other, err)
		}
		if got, rotated, err := both.open(id, old.seal(id, plain)); err != nil || !rotated || !bytes.Equal(got, plain) {
			t.Fatalf("the previous secret's payload: %q, rotated %v, %v", got, rotated, err)
		}

		// One byte changed, anywhere, through the Manager's decoding. The
		// payload is sealed with a fixed nonce, so that a finding
		// reproduces.
		if flip == 0 {
			flip = 1
		}
		good := fuzzStoreSeal(t, fuzzSecret, id, mustEncode(t, fuzzState(id)), flip)
		if st, _, err := m.decode(id, good); err != nil || !stateEqual(st, mustCanon(t, fuzzState(id))) {
			t.Fatalf("the payload sealed by hand does not decode: %#v, %v", st, err)
		}
		bad := bytes.Clone(good)
		bad[int(pos)%len(bad)] ^= flip
		if st, _, err := m.decode(id, bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("payload with byte %d changed (%q, sealed %q) decoded: %#v, %v", int(pos)%len(bad), bad, good, st, err)
		}

		// Arbitrary bytes.
		if isSealed(junk) {
			if _, _, err := cur.open(id, junk); err == nil {
				if _, _, err := cur.open(other, junk); err == nil {
					t.Fatalf("%q opened under %q and %q", junk, id, other)
				}
			} else if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open(%q): %v does not wrap ErrCorrupt", junk, err)
			}
		}
		if _, _, err := cur.openRaw([]byte(id), junk); err == nil {
			if _, _, err := cur.openRaw([]byte(other), junk); err == nil {
				t.Fatalf("raw %q opened with two additional data", junk)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("openRaw(%q): %v does not wrap ErrCorrupt", junk, err)
		}
		st, _, derr := m.decode(id, junk)
		_, oerr := m.DecodePayload(id, junk)
		if derr != nil && !errors.Is(derr, ErrCorrupt) || oerr != nil && !errors.Is(oerr, ErrCorrupt) {
			t.Fatalf("decode/Open(%q): %v / %v do not wrap ErrCorrupt", junk, derr, oerr)
		}
		if derr == nil {
			if !isSealed(junk) {
				t.Fatalf("Encrypt is on, yet the plain payload %q decoded to %#v", junk, st)
			}
			if _, _, err := m.decode(other, junk); err == nil {
				t.Fatalf("%q decoded under %q and %q", junk, id, other)
			}
		}
	})
}

// fuzzStoreSeal is seal with the store payload key for secret and a fixed
// nonce, written out with crypto/cipher: "sk1." and the unpadded URL-safe
// base64 of nonce || ciphertext, with the session ID as additional data.
func fuzzStoreSeal(tb testing.TB, secret, id string, plain []byte, nonce byte) []byte {
	return base64.RawURLEncoding.AppendEncode([]byte("sk1."), fuzzGCM(tb, secret, purposeSeal, []byte(id), plain, nonce))
}

// FuzzPaths: put, get, forget, push and pull on any dot-notation keys never
// panic; what Put stores at a key, Get returns there, before and after a
// store and a load; a second key keeps its value unless one key is a path
// prefix of the other; Forget removes exactly the key; Push builds a list
// and refuses a value that is not one.
func FuzzPaths(f *testing.F) {
	m := fuzzManager(f, memstore.New(), Config{})
	f.Add("user.name", "user.id", int64(7))
	f.Add("a.b.c", "a.b", int64(-1))
	f.Add("a", "a.b", int64(0))
	f.Add("", "", int64(1))
	f.Add(".", "..", int64(2))
	f.Add("a..b", "a.", int64(3))
	f.Add("\xff.\x00", "\xfe", int64(1<<62))
	f.Fuzz(func(t *testing.T, key, other string, n int64) {
		val := int(n)
		data := map[string]any{}
		setPath(data, other, "other")
		setPath(data, key, val)
		check := func(when string, data map[string]any) {
			t.Helper()
			if got, ok := getPath(data, key); !ok || got != val {
				t.Fatalf("%s: get(%q) = %v, %v; want %d", when, key, got, ok, val)
			}
			got, ok := getPath(data, other)
			switch rel := pathRelation(key, other); rel {
			case "same":
			case "key above": // other lies under key, which now holds an int
				if ok {
					t.Fatalf("%s: %q survived put(%q): %v", when, other, key, got)
				}
			case "other above":
				if _, isMap := got.(map[string]any); !ok || !isMap {
					t.Fatalf("%s: %q above %q is %v, %v; want a map", when, other, key, got, ok)
				}
			default:
				if !ok || got != "other" {
					t.Fatalf("%s: put(%q) changed %q to %v, %v", when, key, other, got, ok)
				}
			}
		}
		check("after put", data)
		// The same after a store and a load, where the canonical key is
		// the key (invalid UTF-8 is stored as U+FFFD).
		if canonString(key) == key && canonString(other) == other {
			st := state{data: data}
			enc, err := encodeState(&st)
			if err != nil {
				t.Fatal(err)
			}
			loaded, err := decodeState(enc)
			if err != nil {
				t.Fatal(err)
			}
			check("after a reload", loaded.data)
		}
		if pushPath(data, key, 1) {
			t.Fatalf("push onto the int at %q succeeded", key)
		}
		if got, _ := getPath(data, key); got != val {
			t.Fatalf("a refused push changed %q to %v", key, got)
		}
		deletePath(data, key)
		if got, ok := getPath(data, key); ok {
			t.Fatalf("forget(%q) left %v", key, got)
		}
		if rel := pathRelation(key, other); rel == "" {
			if got, ok := getPath(data, other); !ok || got != "other" {
				t.Fatalf("forget(%q) changed %q to %v, %v", key, other, got, ok)
			}
		}
		if !pushPath(data, key, 1) || !pushPath(data, key, "two") {
			t.Fatalf("push onto the missing key %q failed", key)
		}
		if got, _ := getPath(data, key); !reflect.DeepEqual(got, []any{1, "two"}) {
			t.Fatalf("after two pushes %q holds %#v", key, got)
		}

		// The same through the Session's methods.
		s := newSession(m, context.Background())
		s.Put(other, "other")
		s.Put(key, val)
		if got := s.Get(key, "default"); got != val || !s.Has(key) {
			t.Fatalf("Session: Get(%q) = %v after Put", key, got)
		}
		if err := s.Push(key, 1); !errors.Is(err, ErrNotList) {
			t.Fatalf("Session: Push onto an int: %v, want ErrNotList", err)
		}
		if got := s.Pull(key); got != val || s.Has(key) {
			t.Fatalf("Session: Pull(%q) = %v, Has after: %v", key, got, s.Has(key))
		}
		if err := s.Push(key, "x"); err != nil {
			t.Fatalf("Session: Push onto the missing %q: %v", key, err)
		}
		s.Forget(key)
		if got := s.Get(key, "default"); got != "default" {
			t.Fatalf("Session: Get(%q) after Forget = %v", key, got)
		}
	})
}

// pathRelation reports how dot paths a and b relate: "same", "key above"
// (a is a proper prefix of b, segment by segment), "other above" (b of a),
// or "" (they part).
func pathRelation(a, b string) string {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	n := min(len(as), len(bs))
	if !slices.Equal(as[:n], bs[:n]) {
		return ""
	}
	switch {
	case len(as) == len(bs):
		return "same"
	case len(as) < len(bs):
		return "key above"
	}
	return "other above"
}

// FuzzVerifyCSRF: VerifyCSRF lets a request through exactly when its method
// is safe or the token it carries (the X-CSRF-Token header, or when that is
// empty the _token field of a form body) is the session's token, byte for
// byte; other headers, X-XSRF-Token among them, count for nothing. A refused
// request answers 403 and leaves the stored session as it was.
// unmaskForFuzz returns the token that masked holds when it is a masked
// token (base64url, canonical, of mask || mask XOR token), or "".
func unmaskForFuzz(masked string) string {
	b, err := base64.RawURLEncoding.Strict().DecodeString(masked)
	if err != nil || len(b)%2 != 0 || len(b) == 0 || strings.ContainsAny(masked, "\r\n") {
		return ""
	}
	half := len(b) / 2
	for i := range half {
		b[half+i] ^= b[i]
	}
	return string(b[half:])
}

func FuzzVerifyCSRF(f *testing.F) {
	m := fuzzManager(f, memstore.New(), Config{})
	stored := storeFuzzSessions(f, m)
	cookie := "session=" + fuzzSigner(fuzzSecret).sign(fuzzIDA)
	methods := []string{http.MethodPost, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions, http.MethodTrace}
	form := "_token=" + url.QueryEscape(fuzzToken)
	for i, s := range [][3]string{
		{fuzzToken, "", ""},
		{"", "", form},
		{"", fuzzToken, ""},
		{"", "", form + "&_token=x"},
		{"", "", "_token=x&" + form},
		{"x", "", form},
		{fuzzToken + " ", "", ""},
		{" " + fuzzToken, "", ""},
		{"", "", "_token=" + fuzzToken[:len(fuzzToken)-1]},
		{"", "", "_token=" + fuzzToken + ";a=b"},
		{"", "", "%zz&" + form},
		{"", "", ""},
		{strings.ToLower(fuzzToken), "", ""},
		{maskToken(fuzzToken), "", ""},
		{"", "", "_token=" + maskToken(fuzzToken)},
		{maskToken(fuzzToken)[1:] + "A", "", ""},
		{maskToken("x" + fuzzToken[1:]), "", ""},
	} {
		f.Add(uint8(i), s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, method uint8, header, xsrf, body string) {
		meth := methods[int(method)%len(methods)]
		r := fuzzRequest(meth, cookie, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			r.Header["X-Csrf-Token"] = []string{header}
		}
		if xsrf != "" {
			r.Header["X-Xsrf-Token"] = []string{xsrf}
		}
		sent := header
		if sent == "" && (meth == http.MethodPost || meth == http.MethodPut || meth == http.MethodPatch) {
			q, _ := url.ParseQuery(body)
			sent = q.Get("_token")
		}
		safe := meth == http.MethodGet || meth == http.MethodHead || meth == http.MethodOptions || meth == http.MethodTrace
		want := safe || sent == fuzzToken || unmaskForFuzz(sent) == fuzzToken
		called := false
		h := m.Middleware(m.VerifyCSRF(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if called != want {
			t.Fatalf("%s, X-CSRF-Token %q, X-XSRF-Token %q, body %q: handler called %v, want %v", meth, header, xsrf, body, called, want)
		}
		if !want {
			if rec.Code != http.StatusForbidden {
				t.Fatalf("refused request: status %d", rec.Code)
			}
			if c := rec.Result().Cookies(); len(c) > 0 {
				t.Fatalf("refused request set cookies %v", c)
			}
		} else if rec.Code != http.StatusOK {
			t.Fatalf("accepted request: status %d", rec.Code)
		}
		got, _, found, err := m.store.Load(context.Background(), fuzzIDA)
		if err != nil || !found || !bytes.Equal(got, stored[fuzzIDA]) {
			t.Fatalf("the session changed: %q, %v, %v", got, found, err)
		}
	})
}

// FuzzCacheControl checks, for any Cache-Control a handler sets, that a
// response setting the session cookie is one no shared cache may store,
// that the rewrite is stable (a second pass changes nothing), and that the
// handler's directives other than public, s-maxage and private="..." stay.
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"", "public", "public, max-age=3600", "no-store", "private", `no-cache="Set-Cookie, X", s-maxage=1`,
		"no-store, must-understand, public", `private="a\"b", max-age=0`, `"`, `no-cache="\`, ",,,", "PUBLIC"} {
		f.Add(s, "")
		f.Add(s, "max-age=60")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		in := []string{a}
		if b != "" {
			in = append(in, b)
		}
		h := http.Header{"Cache-Control": slices.Clone(in)}
		addCookieHeaders(h, "session=v")
		out := slices.Clone(h["Cache-Control"])
		if !strings.ContainsAny(a+b, `"\`) && SharedCacheMayStore(out) {
			t.Fatalf("%q sent as %q, which a shared cache may store", in, out)
		}
		addCookieHeaders(h, "session=v")
		if !slices.Equal(h["Cache-Control"], out) {
			t.Fatalf("%q sent as %q, then as %q: the rewrite is not stable", in, out, h["Cache-Control"])
		}
		if slices.Equal(out, in) || strings.ContainsAny(a+b, `"\`) {
			return
		}
		for _, v := range in {
			for _, d := range strings.Split(v, ",") {
				d = strings.TrimSpace(d)
				name, _, _ := strings.Cut(strings.ToLower(d), "=")
				switch strings.TrimSpace(name) {
				case "", "public", "s-maxage", "private":
					continue
				}
				if !strings.Contains(out[0], d) {
					t.Fatalf("%q sent as %q: directive %q lost", in, out, d)
				}
			}
		}
	})
}

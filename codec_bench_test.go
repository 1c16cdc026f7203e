package session

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sessionkit/session/internal/cputime"
	"github.com/sessionkit/session/internal/jsoncodec"
)

// BenchmarkCodec measures the stored envelope's codec on its own, against
// the standard library doing the same job:
//
//   - impl=sessionkit: encodeState and decodeState, what the Manager runs;
//   - impl=encoding-json: json.Marshal of the envelope struct, and
//     json.Decoder with UseNumber, then the library's number rule applied
//     over the decoded data (integers as int): what replacing the codec with
//     encoding/json would run (without the depth and cycle checks, which it
//     would need on top);
//   - impl=json-v2 (only with GOEXPERIMENT=jsonv2, codec_jsonv2_bench_test.go):
//     encoding/json/v2 with sorted keys, and a plain Unmarshal whose numbers
//     come back as float64, a lower bound of what the number rule would cost.
//
// Besides time, bytes and allocations per operation, each reports the
// process's CPU time per operation (cpu-ns/op), which a busy machine
// disturbs far less than wall time. Compare the implementations with
//
//	go test -run '^$' -bench BenchmarkCodec -count 10 . > codec.txt
//	benchstat -col /impl codec.txt
//
// Payloads: small (a user ID, a name and the CSRF token), medium (nested
// maps and lists: a profile, a cart, preferences; about 1 KB) and flash
// (small data, two flash messages and ten one-time tokens).
func BenchmarkCodec(b *testing.B) {
	for _, p := range benchPayloads() {
		enc, err := encodeState(&p.st)
		if err != nil {
			b.Fatal(err)
		}
		for _, impl := range benchCodecs {
			b.Run("op=encode/payload="+p.name+"/impl="+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(enc)))
				defer cputime.Report(b)()
				for b.Loop() {
					if _, err := impl.encode(&p.st); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		for _, impl := range benchCodecs {
			b.Run("op=decode/payload="+p.name+"/impl="+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(enc)))
				defer cputime.Report(b)()
				for b.Loop() {
					if _, err := impl.decode(enc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

type benchCodec struct {
	name   string
	encode func(*state) ([]byte, error)
	decode func([]byte) (state, error)
}

// benchCodecs are the implementations BenchmarkCodec compares; a file built
// with GOEXPERIMENT=jsonv2 adds encoding/json/v2.
var benchCodecs = []benchCodec{
	{"sessionkit", encodeState, decodeState},
	{"encoding-json", stdEncodeState, stdDecodeState},
}

// stdEnvelope is the envelope as encoding/json writes it.
func stdEnvelope(st *state) envelope {
	env := envelope{V: payloadVersion, Data: st.data, Token: st.token, OTT: st.ott}
	if len(st.flashNow)+len(st.flashNext) > 0 {
		env.Flash = slices.Concat(st.flashNow, st.flashNext)
	}
	return env
}

func stdEncodeState(st *state) ([]byte, error) {
	return json.Marshal(stdEnvelope(st))
}

func stdDecodeState(b []byte) (state, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return state{}, err
	}
	if env.Data == nil {
		env.Data = map[string]any{}
	}
	for k, v := range env.Data {
		env.Data[k] = benchNormalize(v)
	}
	return state{data: env.Data, flashNow: env.Flash, token: env.Token, ott: env.OTT}, nil
}

// benchNormalize applies the library's number rule to a value that
// encoding/json decoded with UseNumber.
func benchNormalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		return jsoncodec.Number(v)
	case map[string]any:
		for k, e := range v {
			v[k] = benchNormalize(e)
		}
	case []any:
		for i, e := range v {
			v[i] = benchNormalize(e)
		}
	}
	return v
}

type benchPayload struct {
	name string
	st   state
}

// benchPayloads are typical sessions, as a handler leaves them after a
// reload (the types decoding gives).
func benchPayloads() []benchPayload {
	token := strings.Repeat("T", idLen)
	var ott []string
	for i := range 10 {
		ott = append(ott, strings.Repeat(string(rune('a'+i)), idLen))
	}
	item := func(sku string, qty int, price float64) map[string]any {
		return map[string]any{"sku": sku, "qty": qty, "price": price, "title": "Item " + sku + " <special> & more"}
	}
	return []benchPayload{
		{"small", state{data: map[string]any{"user_id": 42, "name": "Ana"}, token: token}},
		{"medium", state{data: map[string]any{
			"user": map[string]any{
				"id": 1234567, "name": "Ana María", "email": "ana@example.com", "admin": false,
				"roles":   []any{"editor", "viewer", "billing"},
				"address": map[string]any{"street": "Rua das Flores 12", "city": "Porto", "zip": "4050-265", "country": "PT"},
			},
			"cart": map[string]any{
				"items":    []any{item("A-100", 2, 19.99), item("B-220", 1, 5.5), item("C-314", 3, 120)},
				"coupon":   nil,
				"currency": "EUR",
				"total":    406.48,
			},
			"prefs": map[string]any{"theme": "dark", "lang": "pt-PT", "tz": "Europe/Lisbon", "page_size": 50,
				"notifications": map[string]any{"email": true, "sms": false, "push": true}},
			"last_seen": "2026-05-01T12:34:56Z",
			"visits":    87,
			"history":   []any{"/", "/shop", "/shop/cart", "/checkout", "/account"},
		}, token: token}},
		{"flash", state{
			data:      map[string]any{"user_id": 42, "notice": "Your profile was saved.", "errors": []any{"Name is required.", "Email is invalid."}},
			flashNext: []string{"notice", "errors"},
			token:     token,
			ott:       ott,
		}},
	}
}

package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/sessionkit/session/internal/jsoncodec"
)

// TestEnvelopeMatchesEncodingJSON checks that the envelope codec writes what
// encoding/json writes for the envelope struct, and reads it back.
func TestEnvelopeMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		st state
		cf clientFields
	}{
		{st: state{data: map[string]any{}}},
		{st: state{data: map[string]any{"user": map[string]any{"id": 42}}, flashNow: []string{"a"}, flashNext: []string{"b"}, token: "tok", ott: []string{"o1", "o2"}}},
		{st: state{data: map[string]any{"x": "y"}}, cf: clientFields{ID: "id", Exp: 1764000000000}},
	} {
		got, err := encodeClientState(&tc.st, tc.cf)
		if err != nil {
			t.Fatal(err)
		}
		env := envelope{V: payloadVersion, Data: tc.st.data, Token: tc.st.token, OTT: tc.st.ott, clientFields: tc.cf}
		if f := append(append([]string{}, tc.st.flashNow...), tc.st.flashNext...); len(f) > 0 {
			env.Flash = f
		}
		want, _ := json.Marshal(env)
		if string(got) != string(want) {
			t.Errorf("envelope = %s, encoding/json writes %s", got, want)
		}
		st, cf, err := decodeClientState(got)
		if err != nil || cf != tc.cf || st.token != tc.st.token || !reflect.DeepEqual(st.data, tc.st.data) ||
			len(st.flashNow) != len(tc.st.flashNow)+len(tc.st.flashNext) || !reflect.DeepEqual(st.ott, tc.st.ott) {
			t.Errorf("decode(%s) = %+v %+v %v", got, st, cf, err)
		}
	}
	for _, bad := range []string{
		``, `[]`, `{}`, `{"v":2}`, `{"v":"1"}`, `{"v":1.5}`, `{"v":1,"data":[]}`, `{"v":1,"flash":"x"}`,
		`{"v":1,"flash":[1]}`, `{"v":1,"token":5}`, `{"v":1,"exp":"x"}`, `{"v":1} x`, `{"v":1`,
	} {
		if _, _, err := decodeClientState([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decode(%q): %v, want ErrCorrupt", bad, err)
		}
	}
	if st, err := decodeState([]byte(`{"v":1,"data":null,"future":{"x":[1]}}`)); err != nil || st.data == nil {
		t.Errorf("null data and an unknown field: %+v, %v", st, err)
	}
}

// TestEncodeDepthMatchesDecoder: the encoder refuses exactly the payloads the
// decoder refuses, nested deeper than jsoncodec.MaxDepth, whatever holds the innermost
// level: a map, a list, a []string, or a type written by encoding/json.
func TestEncodeDepthMatchesDecoder(t *testing.T) {
	type box struct{ In []int }
	for name, innermost := range map[string]any{
		"map": map[string]any{}, "list": []any{}, "strings": []string{"s"},
		"ints": []int{1}, "struct": box{In: []int{2}}, "empty map": map[string]any(nil),
	} {
		// The envelope and the data object are two levels, innermost and
		// its own members one or two; n more wrap it.
		inner, _ := json.Marshal(innermost)
		base := 2 + nestingOf(inner)
		for _, n := range []int{jsoncodec.MaxDepth - base - 1, jsoncodec.MaxDepth - base, jsoncodec.MaxDepth - base + 1} {
			var v any = innermost
			for i := range n {
				if i%2 == 0 {
					v = map[string]any{"k": v}
				} else {
					v = []any{v}
				}
			}
			st := state{data: map[string]any{"v": v}}
			enc, err := encodeState(&st)
			want, _ := json.Marshal(envelope{V: payloadVersion, Data: st.data})
			_, derr := decodeState(want)
			if (err == nil) != (derr == nil) {
				t.Fatalf("%s at depth %d: encode error %v, decode error %v", name, base+n, err, derr)
			}
			if err != nil {
				if !errors.Is(err, ErrEncode) {
					t.Fatalf("%s at depth %d: %v, want ErrEncode", name, base+n, err)
				}
				continue
			}
			if !bytes.Equal(enc, want) {
				t.Fatalf("%s at depth %d: encoding differs from encoding/json's", name, base+n)
			}
		}
	}
}

// nestingOf is the deepest nesting of objects and arrays in a JSON text,
// counted by encoding/json's tokenizer.
func nestingOf(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// TestEncodeStateRefusesCycles: a value that holds itself fails encodeState
// with ErrEncode (the cycles themselves: TestAppendRefusesCycles in
// internal/jsoncodec).
func TestEncodeStateRefusesCycles(t *testing.T) {
	self := map[string]any{"name": "Ana"}
	self["previous"] = self
	list := []any{1, nil}
	list[1] = list
	for _, v := range []any{self, list} {
		st := state{data: map[string]any{"v": v}, token: "t"}
		if _, err := encodeState(&st); !errors.Is(err, ErrEncode) {
			t.Errorf("encodeState of a cycle: %v, want ErrEncode", err)
		}
		if _, err := encodeClientState(&st, clientFields{ID: "id", Exp: 1}); !errors.Is(err, ErrEncode) {
			t.Errorf("encodeClientState of a cycle: %v, want ErrEncode", err)
		}
	}
}

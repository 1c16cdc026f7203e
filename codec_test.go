package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// referenceDecode decodes b with encoding/json and the library's number
// rules: what the hand-written decoder must return.
func referenceDecode(b []byte) (any, error) {
	if !json.Valid(b) {
		return nil, errors.New("not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return referenceNormalize(v), nil
}

func referenceNormalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		return number(v)
	case map[string]any:
		for k, e := range v {
			v[k] = referenceNormalize(e)
		}
	case []any:
		for i, e := range v {
			v[i] = referenceNormalize(e)
		}
	}
	return v
}

var jsonSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `42`, `1.5`, `-2.5e-7`, `1e21`, `1E400`,
	`9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `18446744073709551616`,
	`123456789012345678`, `1234567890123456789`, `0.1`, `1.0`, `3e2`, `"a"`, `""`,
	`"\u00e9\n\t\"\\\/\b\f\r"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83d\u0041"`, `"\udc00\ud800"`,
	"\"\xff\xfe\"", "\"caf\xc3\xa9\"", `"<a href='x'>&</a>"`, "\"\u2028\u2029\"",
	`{"a":{"b":[1,2,{"c":null}]},"a":2}`, ` { "k" : [ 1 , "x" , true ] } `,
	`{"v":1,"data":{"user":{"id":42,"name":"Ana"},"cart":["apple","pear"]},"flash":["msg"],"token":"t","ott":["a","b"]}`,
	// malformed
	`{`, `[1,]`, `{"a":}`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `"abc`, "\"a\x01\"", `"\x"`, `"\u12"`, `tru`, `nul`,
	`{"a" 1}`, `{1:2}`, `[1 2]`, `1 2`, `"\u00zz"`, `NaN`, `{"a":1,}`,
}

func TestDecodeValueMatchesEncodingJSON(t *testing.T) {
	for _, in := range jsonSeeds {
		checkDecode(t, []byte(in))
	}
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, err := decodeValue([]byte(deep)); err == nil {
		t.Errorf("nesting deeper than %d decoded", maxDepth)
	}
}

func checkDecode(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := referenceDecode(in)
	got, err := decodeValue(in)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decode %q: error %v, encoding/json's %v", in, err, wantErr)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode %q = %#v, encoding/json gives %#v", in, got, want)
	}
	checkEncode(t, got)
}

func checkEncode(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := appendJSON(nil, v)
	if (err != nil) != (wantErr != nil) || string(got) != string(want) {
		t.Fatalf("encode %#v = %s (%v), encoding/json writes %s (%v)", v, got, err, want, wantErr)
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	type point struct{ X, Y int }
	for _, v := range []any{
		nil, "", "plain", "<&>", "tab\tnew\nline\x00\x1f", "\xff", "\u2028", "é😀", true, false,
		0, -7, int64(math.MinInt64), int32(5), uint(7), uint64(math.MaxUint64),
		0.0, 1.0, -1.5, 1e-7, 1e21, 123456789.123, math.SmallestNonzeroFloat64, math.MaxFloat64,
		float32(0.1), float32(1e-7), float32(3e38),
		math.NaN(), math.Inf(1), json.Number("12.5"), json.Number(""), json.Number("1x"),
		map[string]any{"b": 1, "a": []any{"x", nil, map[string]any{}}, "<": "&"},
		map[string]any(nil), []any(nil), []any{}, []string{"a", "b"}, []string(nil),
		map[string]any{"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9,
			"k10": 10, "k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17},
		point{1, 2}, &point{3, 4}, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), map[string]int{"z": 1, "a": 2},
		[]int{1, 2}, []byte("bytes"), make(chan int),
	} {
		checkEncode(t, v)
	}
}

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

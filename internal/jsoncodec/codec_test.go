package jsoncodec

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
		return Number(v)
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

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range jsonSeeds {
		checkDecode(t, []byte(in))
	}
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Decode([]byte(deep)); err == nil {
		t.Errorf("nesting deeper than %d decoded", MaxDepth)
	}
}

func checkDecode(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := referenceDecode(in)
	got, err := Decode(in)
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

// checkEncode checks that Append writes v as encoding/json does: the same
// bytes, or (where the two differ in how they write the same string, as
// encoding/json does under GOEXPERIMENT=jsonv2 for invalid UTF-8, written
// as the replacement character itself rather than \ufffd) JSON that reads
// back as the same value.
func checkEncode(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := Append(nil, v)
	if (err != nil) != (wantErr != nil) || string(got) != string(want) && !sameJSON(got, want) {
		t.Fatalf("encode %#v = %s (%v), encoding/json writes %s (%v)", v, got, err, want, wantErr)
	}
}

// sameJSON reports whether a and b are JSON texts of equal values.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
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

// TestAppendRefusesCycles: a value that holds itself is an error, whether
// the cycle runs through maps and lists (the hand-written encoder's) or
// through the types it hands to encoding/json; a value seen twice without a
// cycle is not.
func TestAppendRefusesCycles(t *testing.T) {
	type node struct {
		Next *node
		M    map[string]any
	}
	self := map[string]any{"name": "Ana"}
	self["previous"] = self
	outer := map[string]any{}
	outer["a"] = map[string]any{"b": []any{1, outer}}
	list := []any{1, nil}
	list[1] = list
	ring := &node{}
	ring.Next = ring
	viaStruct := map[string]any{}
	viaStruct["s"] = node{M: viaStruct}
	deepRing := map[string]any{}
	cur := deepRing
	for range 2 * scanDepth {
		next := map[string]any{}
		cur["k"], cur = next, next
	}
	cur["back"] = deepRing
	for name, v := range map[string]any{
		"map": self, "map and list": outer, "list": list, "pointer": ring, "struct": viaStruct,
		"beyond scanDepth": deepRing,
	} {
		_, err := Append(nil, v)
		if err == nil || !strings.Contains(err.Error(), "cycle") {
			t.Errorf("%s: %v, want a cycle error", name, err)
		}
	}

	shared := map[string]any{"x": 1}
	arr := []any{"a", nil}
	arr[1] = arr[0:1] // a shorter slice of the same array: ["a",["a"]]
	for _, v := range []any{
		map[string]any{"a": shared, "b": shared, "c": []any{shared, shared}},
		arr,
	} {
		checkEncode(t, v)
	}
}

// TestAppendDepthMatchesDecode: Append and AppendObject refuse exactly the
// texts Decode refuses, nested deeper than MaxDepth, whatever holds the
// innermost level: a map, a list, a []string, or a type written by
// encoding/json.
func TestAppendDepthMatchesDecode(t *testing.T) {
	type box struct{ In []int }
	for name, innermost := range map[string]any{
		"map": map[string]any{}, "list": []any{}, "strings": []string{"s"},
		"ints": []int{1}, "struct": box{In: []int{2}}, "null map": map[string]any(nil),
	} {
		inner, _ := json.Marshal(innermost)
		base := nestingOf(inner)
		for _, n := range []int{MaxDepth - base - 1, MaxDepth - base, MaxDepth - base + 1} {
			var v any = innermost
			for i := range n {
				if i%2 == 0 {
					v = map[string]any{"k": v}
				} else {
					v = []any{v}
				}
			}
			want, _ := json.Marshal(v)
			_, derr := Decode(want)
			got, err := Append(nil, v)
			if (err == nil) != (derr == nil) || err == nil && !bytes.Equal(got, want) {
				t.Fatalf("%s at depth %d: Append error %v, Decode error %v", name, base+n, err, derr)
			}
			// The same value as a member of a text with one level open.
			wrapped := map[string]any{"v": v}
			want, _ = json.Marshal([]any{wrapped})
			_, derr = Decode(want)
			got, err = AppendObject([]byte{'['}, wrapped, 1)
			if (err == nil) != (derr == nil) || err == nil && !bytes.Equal(append(got, ']'), want) {
				t.Fatalf("%s at depth %d, inside one level: AppendObject error %v, Decode error %v", name, base+n+2, err, derr)
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

// TestAppendErrorsNameThePath: an error inside a value is a PathError naming
// the member or element where it happened, keys joined by dots and indexes in
// brackets, cut after maxPathSegments; an error of the value itself is not.
func TestAppendErrorsNameThePath(t *testing.T) {
	self := map[string]any{"name": "Ana"}
	profile := map[string]any{"profile": self}
	self["previous"] = self
	deep := map[string]any{}
	cur := deep
	for range 30 {
		next := map[string]any{}
		cur["k"], cur = next, next
	}
	cur["c"] = make(chan int)
	for _, tc := range []struct {
		v          any
		path, text string
	}{
		{map[string]any{"ch": make(chan int)}, "ch", "json: unsupported type: chan int"},
		{map[string]any{"cart": map[string]any{"items": []any{1, map[string]any{"price": math.NaN()}}}}, "cart.items[1].price", "json: unsupported value: NaN"},
		{map[string]any{"user": struct{ C chan int }{}}, "user", "json: unsupported type: chan int"},
		{map[string]any{"n": json.Number("1x")}, "n", `json: invalid number literal "1x"`},
		{[]any{"a", []any{0, math.Inf(1)}}, "[1][1]", "json: unsupported value: +Inf"},
		{profile, "profile.previous", "json: unsupported value: encountered a cycle via map[string]interface {}"},
		{deep, strings.Repeat("k.", maxPathSegments-1) + "k…", "json: unsupported type: chan int"},
	} {
		_, err := Append(nil, tc.v)
		pe, ok := errors.AsType[*PathError](err)
		if !ok || pe.Path != tc.path || pe.Err.Error() != tc.text {
			t.Errorf("Append: %v; want %s at %q", err, tc.text, tc.path)
		}
		if !strings.HasPrefix(err.Error(), "json: ") {
			t.Errorf("error %q does not begin with json:", err)
		}
	}
	if _, err := Append(nil, make(chan int)); err == nil || errors.As(err, new(*PathError)) {
		t.Errorf("Append of a channel: %v, want a plain error", err)
	}
}

// TestAppendAllocatesNothing: writing the types a session holds into a
// buffer large enough allocates nothing; in particular the frames that track
// the path and the open containers stay on the stack.
func TestAppendAllocatesNothing(t *testing.T) {
	v := map[string]any{
		"user": map[string]any{"id": 42, "name": "Ana", "roles": []any{"a", "b"}, "score": 1.5},
		"cart": []any{map[string]any{"sku": "A-1", "qty": 2}, map[string]any{"sku": "B-2", "qty": 1}},
		"seen": []string{"x", "y"}, "ok": true, "none": nil,
	}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := AppendObject(buf[:0], v, 1); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendObject: %v allocations, want 0", n)
	}
}

// Package jsoncodec reads and writes the JSON of stored session payloads,
// by hand, at a fraction of encoding/json's cost (BenchmarkCodec in the root
// package measures both): decoding is most of the work of a request that
// reads its session.
//
// It writes exactly what encoding/json.Marshal writes for the same value
// (sorted keys, HTML-safe escapes) and reads exactly what encoding/json
// reads, into map[string]any, []any, string, bool, nil and the library's
// numbers (see Number); FuzzJSONCodec checks both against encoding/json.
// Both sides refuse a text nested deeper than MaxDepth, and the encoder a
// value that holds itself, so that what is written can be read back and
// nothing recurses without bound.
//
// Every error it returns begins with "json:", as encoding/json's do (it hands
// encoding/json the types it does not write itself, and passes that
// package's errors on). An encoding error names where in the value it
// happened: see PathError.
package jsoncodec

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// MaxDepth bounds the nesting of objects and arrays in a text, as
// encoding/json's decoder does: the decoder refuses a deeper text and the
// encoder refuses to write one.
const MaxDepth = 10000

// Number converts a JSON number: an integer that fits in int becomes int, any
// other number float64; an integer too large for both stays a json.Number, so
// that it can still be decoded exactly (into a uint64, say).
func Number(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 0); err == nil {
		return int(i)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || (math.Trunc(f) == f && !strings.ContainsAny(string(n), ".eE")) {
		return n
	}
	return f
}

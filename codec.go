package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// payloadVersion is the version of the stored envelope.
const payloadVersion = 1

// envelope is the stored form of a session: JSON, readable by operators and
// other languages. User data has its own map, so no user key is reserved.
type envelope struct {
	V     int            `json:"v"`
	Data  map[string]any `json:"data,omitempty"`
	Flash []string       `json:"flash,omitempty"` // keys readable in the next request, then removed
	Token string         `json:"token,omitempty"` // CSRF token
	OTT   []string       `json:"ott,omitempty"`   // one-time tokens, newest first
	clientFields
}

// state is a session's contents while a request works on it.
type state struct {
	data      map[string]any
	flashNow  []string // flash keys readable in this request only (loaded as flash data)
	flashNext []string // flash keys readable in this and the next request
	token     string
	ott       []string
}

// encodeState returns the JSON envelope of st. Flash keys of both kinds are
// stored as flash data; call age first when the request is over.
func encodeState(st *state) ([]byte, error) {
	return encodeClientState(st, clientFields{})
}

// encodeClientState is encodeState with the cookie driver's fields.
func encodeClientState(st *state, cf clientFields) ([]byte, error) {
	env := envelope{V: payloadVersion, Data: st.data, Token: st.token, OTT: st.ott, clientFields: cf}
	if len(st.flashNow)+len(st.flashNext) > 0 {
		env.Flash = slices.Concat(st.flashNow, st.flashNext)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncode, err)
	}
	return b, nil
}

// decodeState decodes a JSON envelope. Every stored flash key is readable in
// this request only (flashNow).
func decodeState(b []byte) (state, error) {
	st, _, err := decodeClientState(b)
	return st, err
}

// decodeClientState is decodeState that also returns the cookie driver's
// fields.
func decodeClientState(b []byte) (state, clientFields, error) {
	var env envelope
	if err := decodeJSON(b, &env); err != nil {
		return state{}, clientFields{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if env.V != payloadVersion {
		return state{}, clientFields{}, fmt.Errorf("%w: payload version %d, want %d", ErrCorrupt, env.V, payloadVersion)
	}
	if env.Data == nil {
		env.Data = map[string]any{}
	}
	return state{data: env.Data, flashNow: env.Flash, token: env.Token, ott: env.OTT}, env.clientFields, nil
}

// decodeJSON unmarshals b into v, turning JSON numbers into int where they
// are integers that fit, float64 otherwise, so that an int put in one request
// is an int in the next.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	switch v := v.(type) {
	case *envelope:
		normalizeMap(v.Data)
	case *map[string]any:
		normalizeMap(*v)
	}
	return nil
}

func normalizeMap(m map[string]any) {
	for k, e := range m {
		m[k] = normalize(e)
	}
}

func normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		return number(v)
	case map[string]any:
		normalizeMap(v)
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
	}
	return v
}

// number converts a JSON number: an integer that fits in int becomes int, any
// other number float64; an integer too large for both stays a json.Number, so
// that GetAs can still decode it exactly (into a uint64, say).
func number(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 0); err == nil {
		return int(i)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || (math.Trunc(f) == f && !strings.ContainsAny(string(n), ".eE")) {
		return n
	}
	return f
}

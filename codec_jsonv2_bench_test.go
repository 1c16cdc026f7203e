//go:build goexperiment.jsonv2

package session

import "encoding/json/v2"

// With GOEXPERIMENT=jsonv2, BenchmarkCodec also measures encoding/json/v2
// (and encoding/json itself then runs on v2's implementation).
func init() {
	benchCodecs = append(benchCodecs, benchCodec{"json-v2", v2EncodeState, v2DecodeState})
}

func v2EncodeState(st *state) ([]byte, error) {
	return json.Marshal(stdEnvelope(st), json.Deterministic(true))
}

// v2DecodeState decodes numbers as float64 (v2 has no UseNumber for any):
// less than the library's number rule asks, so a lower bound of its cost.
func v2DecodeState(b []byte) (state, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return state{}, err
	}
	if env.Data == nil {
		env.Data = map[string]any{}
	}
	return state{data: env.Data, flashNow: env.Flash, token: env.Token, ott: env.OTT}, nil
}

package jsoncodec

import "testing"

// FuzzJSONCodec checks the codec against encoding/json on arbitrary input:
// the same values decoded, the same errors, the same bytes encoded.
func FuzzJSONCodec(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkDecode(t, in) })
}

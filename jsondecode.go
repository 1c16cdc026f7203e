package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written JSON decoder for stored payloads: the envelope's own fields
// and the user's values, decoded straight into map[string]any, []any, string,
// bool, nil and the library's number types (see number). It accepts exactly
// RFC 8259 JSON, as encoding/json does, and decodes strings as encoding/json
// does (invalid UTF-8 and lone surrogates become U+FFFD), at a fraction of
// encoding/json's cost: decoding is most of the work of a request that reads
// its session.

// maxDepth bounds the nesting of objects and arrays in a payload, as
// encoding/json's decoder does: the decoder refuses a deeper text and the
// encoder refuses to write one, so that what is saved can be read back.
const maxDepth = 10000

// jsonDecoder reads one JSON text from b.
type jsonDecoder struct {
	b     []byte
	i     int
	depth int
}

// syntaxError describes malformed JSON at the decoder's offset.
func (d *jsonDecoder) syntaxError(what string) error {
	if d.i >= len(d.b) {
		return fmt.Errorf("JSON: unexpected end of input: %s", what)
	}
	return fmt.Errorf("JSON: %s at offset %d (byte %q)", what, d.i, d.b[d.i])
}

func (d *jsonDecoder) skipSpace() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// end checks that nothing but white space follows the value.
func (d *jsonDecoder) end() error {
	d.skipSpace()
	if d.i != len(d.b) {
		return d.syntaxError("trailing data after the JSON value")
	}
	return nil
}

// peek returns the next byte after white space, or 0 at the end.
func (d *jsonDecoder) peek() byte {
	d.skipSpace()
	if d.i >= len(d.b) {
		return 0
	}
	return d.b[d.i]
}

// expect consumes c after white space.
func (d *jsonDecoder) expect(c byte) error {
	if d.peek() != c {
		return d.syntaxError(fmt.Sprintf("want %q", c))
	}
	d.i++
	return nil
}

// decodeValue decodes the JSON text b into a value (see jsonDecoder).
func decodeValue(b []byte) (any, error) {
	d := jsonDecoder{b: b}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	return v, d.end()
}

// value decodes any JSON value.
func (d *jsonDecoder) value() (any, error) {
	switch c := d.peek(); {
	case c == '{':
		m, err := d.object()
		if m == nil {
			return nil, err // a nil map in an any is not nil
		}
		return m, err
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	default:
		return nil, d.syntaxError("want a JSON value")
	}
}

func (d *jsonDecoder) literal(word string) error {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return d.syntaxError("want " + word)
	}
	d.i += len(word)
	return nil
}

// object decodes an object; the decoder is at its '{'.
func (d *jsonDecoder) object() (map[string]any, error) {
	if err := d.open(); err != nil {
		return nil, err
	}
	m := map[string]any{}
	for first := true; ; first = false {
		more, err := d.more(first, '}')
		if err != nil || !more {
			return m, err
		}
		key, err := d.key()
		if err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
}

// array decodes an array; the decoder is at its '['.
func (d *jsonDecoder) array() ([]any, error) {
	if err := d.open(); err != nil {
		return nil, err
	}
	l := []any{}
	for first := true; ; first = false {
		more, err := d.more(first, ']')
		if err != nil || !more {
			return l, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
}

// open consumes the '{' or '[' that starts an object or array.
func (d *jsonDecoder) open() error {
	if d.depth++; d.depth > maxDepth {
		return d.syntaxError("nesting too deep")
	}
	d.i++
	return nil
}

// more reports whether another member or element follows in the object or
// array that end closes, consuming the comma before it or end; first is true
// for the first call after open.
func (d *jsonDecoder) more(first bool, end byte) (bool, error) {
	switch c := d.peek(); {
	case c == end:
		d.i++
		d.depth--
		return false, nil
	case first:
		return true, nil
	case c == ',':
		d.i++
		return true, nil
	case end == '}':
		return false, d.syntaxError("want ',' or '}' in an object")
	default:
		return false, d.syntaxError("want ',' or ']' in an array")
	}
}

// key reads an object member's key and the colon after it.
func (d *jsonDecoder) key() (string, error) {
	if d.peek() != '"' {
		return "", d.syntaxError("want an object key")
	}
	key, err := d.str()
	if err != nil {
		return "", err
	}
	return key, d.expect(':')
}

// str decodes a string; the decoder is at its opening quote.
func (d *jsonDecoder) str() (string, error) {
	d.i++ // '"'
	start, ascii := d.i, true
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if ascii || utf8.Valid(s) {
				return string(s), nil
			}
			return string(appendValidUTF8(make([]byte, 0, len(s)+8), s)), nil
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			return "", d.syntaxError("control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return "", d.syntaxError("unterminated string")
}

// escapedStr finishes a string that holds escapes; start is the offset just
// after its opening quote, the decoder is at the first backslash.
func (d *jsonDecoder) escapedStr(start int) (string, error) {
	buf := appendValidUTF8(make([]byte, 0, d.i-start+16), d.b[start:d.i])
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c < 0x20:
			return "", d.syntaxError("control character in a string")
		case c != '\\':
			j := d.i
			for j < len(d.b) && d.b[j] != '"' && d.b[j] != '\\' && d.b[j] >= 0x20 {
				j++
			}
			buf = appendValidUTF8(buf, d.b[d.i:j])
			d.i = j
			continue
		}
		if d.i+1 >= len(d.b) {
			d.i++
			return "", d.syntaxError("unterminated string")
		}
		d.i++
		switch e := d.b[d.i]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4(d.i + 1)
			if !ok {
				return "", d.syntaxError(`malformed \u escape`)
			}
			d.i += 4
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by an escaped low one is one rune;
				// anything else is U+FFFD, as encoding/json decodes it.
				r2, ok := rune(-1), false
				if d.i+6 < len(d.b) && d.b[d.i+1] == '\\' && d.b[d.i+2] == 'u' {
					r2, ok = d.hex4(d.i + 3)
				}
				if pair := utf16.DecodeRune(r, r2); ok && pair != utf8.RuneError {
					r = pair
					d.i += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.syntaxError("unknown escape")
		}
		d.i++
	}
	return "", d.syntaxError("unterminated string")
}

// hex4 reads the four hexadecimal digits at b[i:].
func (d *jsonDecoder) hex4(i int) (rune, bool) {
	if i+4 > len(d.b) {
		return 0, false
	}
	var r rune
	for _, c := range d.b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendValidUTF8 appends s to buf with each invalid UTF-8 byte replaced by
// U+FFFD, as encoding/json decodes strings.
func appendValidUTF8(buf, s []byte) []byte {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n == 1 {
			buf = utf8.AppendRune(buf, utf8.RuneError)
		} else {
			buf = append(buf, s[:n]...)
		}
		s = s[n:]
	}
	return buf
}

// scanNumber consumes a JSON number and returns its text and whether it is
// an integer (no fraction, no exponent).
func (d *jsonDecoder) scanNumber() (text []byte, integer bool, err error) {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case digits() == 0:
		return nil, false, d.syntaxError("malformed number")
	}
	integer = true
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		integer = false
		if digits() == 0 {
			return nil, false, d.syntaxError("malformed number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		integer = false
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, false, d.syntaxError("malformed number")
		}
	}
	return d.b[start:d.i], integer, nil
}

// number decodes a number by the library's rules (see the function number).
func (d *jsonDecoder) number() (any, error) {
	text, integer, err := d.scanNumber()
	if err != nil {
		return nil, err
	}
	if integer && len(text) <= 18 { // fits in an int64 without overflow checks
		var n int64
		neg := text[0] == '-'
		digits := text
		if neg {
			digits = text[1:]
		}
		for _, c := range digits {
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		if int64(int(n)) == n {
			return int(n), nil
		}
	}
	return number(json.Number(text)), nil
}

// errWrongType is returned for an envelope field of the wrong type.
var errWrongType = errors.New("JSON: envelope field of the wrong type")

// stringList decodes an array of strings, or null as nil.
func (d *jsonDecoder) stringList() ([]string, error) {
	switch d.peek() {
	case 'n':
		return nil, d.literal("null")
	case '[':
	default:
		return nil, errWrongType
	}
	if err := d.open(); err != nil {
		return nil, err
	}
	var l []string
	for first := true; ; first = false {
		more, err := d.more(first, ']')
		if err != nil || !more {
			return l, err
		}
		if d.peek() != '"' {
			return nil, errWrongType
		}
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		l = append(l, s)
	}
}

// optString decodes a string, or null as "".
func (d *jsonDecoder) optString() (string, error) {
	switch d.peek() {
	case 'n':
		return "", d.literal("null")
	case '"':
		return d.str()
	default:
		return "", errWrongType
	}
}

// optInt decodes an integer that fits in an int64, or null as 0.
func (d *jsonDecoder) optInt() (int64, error) {
	switch c := d.peek(); {
	case c == 'n':
		return 0, d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		text, integer, err := d.scanNumber()
		if err != nil {
			return 0, err
		}
		n, perr := strconv.ParseInt(string(text), 10, 64)
		if !integer || perr != nil {
			return 0, errWrongType
		}
		return n, nil
	default:
		return 0, errWrongType
	}
}

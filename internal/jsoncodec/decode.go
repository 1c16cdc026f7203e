package jsoncodec

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The decoder: values go straight into map[string]any, []any, string, bool,
// nil and the library's number types (see Number). It accepts exactly
// RFC 8259 JSON, as encoding/json does, and decodes strings as encoding/json
// does (invalid UTF-8 and lone surrogates become U+FFFD).

// A Decoder reads one JSON text, value by value: Decode reads a whole value,
// and the methods below let a caller walk an object of known fields (the
// session envelope) without building a map of it.
type Decoder struct {
	b     []byte
	i     int
	depth int
}

// NewDecoder returns a Decoder reading b.
func NewDecoder(b []byte) *Decoder {
	return &Decoder{b: b}
}

// syntaxError describes malformed JSON at the decoder's offset.
func (d *Decoder) syntaxError(what string) error {
	if d.i >= len(d.b) {
		return fmt.Errorf("json: unexpected end of input: %s", what)
	}
	return fmt.Errorf("json: %s at offset %d (byte %q)", what, d.i, d.b[d.i])
}

func (d *Decoder) skipSpace() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// End checks that nothing but white space follows the value.
func (d *Decoder) End() error {
	d.skipSpace()
	if d.i != len(d.b) {
		return d.syntaxError("trailing data after the JSON value")
	}
	return nil
}

// Peek returns the next byte after white space, or 0 at the end.
func (d *Decoder) Peek() byte {
	d.skipSpace()
	if d.i >= len(d.b) {
		return 0
	}
	return d.b[d.i]
}

// expect consumes c after white space.
func (d *Decoder) expect(c byte) error {
	if d.Peek() != c {
		return d.syntaxError(fmt.Sprintf("want %q", c))
	}
	d.i++
	return nil
}

// Decode decodes the JSON text b into a value.
func Decode(b []byte) (any, error) {
	d := Decoder{b: b}
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	return v, d.End()
}

// Value decodes any JSON value.
func (d *Decoder) Value() (any, error) {
	switch c := d.Peek(); {
	case c == '{':
		m, err := d.Object()
		if m == nil {
			return nil, err // a nil map in an any is not nil
		}
		return m, err
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.Literal("true")
	case c == 'f':
		return false, d.Literal("false")
	case c == 'n':
		return nil, d.Literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	default:
		return nil, d.syntaxError("want a JSON value")
	}
}

// Literal consumes word: true, false or null.
func (d *Decoder) Literal(word string) error {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return d.syntaxError("want " + word)
	}
	d.i += len(word)
	return nil
}

// Object decodes an object; the decoder is at its '{'.
func (d *Decoder) Object() (map[string]any, error) {
	if err := d.Open(); err != nil {
		return nil, err
	}
	m := map[string]any{}
	for first := true; ; first = false {
		more, err := d.More(first, '}')
		if err != nil || !more {
			return m, err
		}
		key, err := d.Key()
		if err != nil {
			return nil, err
		}
		v, err := d.Value()
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
}

// array decodes an array; the decoder is at its '['.
func (d *Decoder) array() ([]any, error) {
	if err := d.Open(); err != nil {
		return nil, err
	}
	l := []any{}
	for first := true; ; first = false {
		more, err := d.More(first, ']')
		if err != nil || !more {
			return l, err
		}
		v, err := d.Value()
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
}

// Open consumes the '{' or '[' that starts an object or array.
func (d *Decoder) Open() error {
	if d.depth++; d.depth > MaxDepth {
		return d.syntaxError("nesting too deep")
	}
	d.i++
	return nil
}

// More reports whether another member or element follows in the object or
// array that end closes, consuming the comma before it or end; first is true
// for the first call after open.
func (d *Decoder) More(first bool, end byte) (bool, error) {
	switch c := d.Peek(); {
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

// Key reads an object member's key and the colon after it.
func (d *Decoder) Key() (string, error) {
	if d.Peek() != '"' {
		return "", d.syntaxError("want an object key")
	}
	key, err := d.str()
	if err != nil {
		return "", err
	}
	return key, d.expect(':')
}

// str decodes a string; the decoder is at its opening quote.
func (d *Decoder) str() (string, error) {
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
func (d *Decoder) escapedStr(start int) (string, error) {
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
func (d *Decoder) hex4(i int) (rune, bool) {
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
func (d *Decoder) scanNumber() (text []byte, integer bool, err error) {
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
func (d *Decoder) number() (any, error) {
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
	return Number(json.Number(text)), nil
}

// ErrWrongType is returned by StringList, OptString and OptInt for a value of
// another type.
var ErrWrongType = errors.New("json: value of the wrong type")

// StringList decodes an array of strings, or null as nil.
func (d *Decoder) StringList() ([]string, error) {
	switch d.Peek() {
	case 'n':
		return nil, d.Literal("null")
	case '[':
	default:
		return nil, ErrWrongType
	}
	if err := d.Open(); err != nil {
		return nil, err
	}
	var l []string
	for first := true; ; first = false {
		more, err := d.More(first, ']')
		if err != nil || !more {
			return l, err
		}
		if d.Peek() != '"' {
			return nil, ErrWrongType
		}
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		l = append(l, s)
	}
}

// OptString decodes a string, or null as "".
func (d *Decoder) OptString() (string, error) {
	switch d.Peek() {
	case 'n':
		return "", d.Literal("null")
	case '"':
		return d.str()
	default:
		return "", ErrWrongType
	}
}

// OptInt decodes an integer that fits in an int64, or null as 0.
func (d *Decoder) OptInt() (int64, error) {
	switch c := d.Peek(); {
	case c == 'n':
		return 0, d.Literal("null")
	case c == '-' || '0' <= c && c <= '9':
		text, integer, err := d.scanNumber()
		if err != nil {
			return 0, err
		}
		n, perr := strconv.ParseInt(string(text), 10, 64)
		if !integer || perr != nil {
			return 0, ErrWrongType
		}
		return n, nil
	default:
		return 0, ErrWrongType
	}
}

package jsoncodec

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The encoder. The types a session holds after a reload (map[string]any,
// []any, string, bool, nil, int, float64) and the commonest ones put by
// handlers are appended directly, byte for byte as encoding/json.Marshal
// writes them (sorted keys, HTML-safe escapes); anything else (structs,
// time.Time, json.Marshaler, typed maps and slices) goes through
// encoding/json. A value that holds itself or nests deeper than MaxDepth is
// an error, never an unbounded recursion.

// An encoder writes one value. It refuses a value that the decoder would
// refuse to read back (nested deeper than MaxDepth) and a value that holds
// itself (a cycle through maps and []any; encoding/json finds those through
// the other types it writes), so that neither can recurse without bound.
type encoder struct {
	base int                    // containers open in the enclosing text
	set  map[container]struct{} // the open containers, once deeper than scanDepth
}

// A frame is an open map or []any and the member being written in it. Each
// lives on the stack of the call that writes its container and links to the
// frame that encloses it.
type frame struct {
	parent *frame
	c      container
	depth  int    // open containers, this one included
	key    string // the member being written, in a map
	index  int    // the element being written, in a list; -1 in a map
}

// A container identifies a map (n == -1) or a []any (its first element and
// its length: a shorter slice of the same array is another value).
type container struct {
	ptr uintptr
	n   int
}

// scanDepth is how deep an encoder looks for a cycle by walking the open
// frames; deeper, it keeps the open containers in a set.
const scanDepth = 32

// Append appends the JSON encoding of v to b.
func Append(b []byte, v any) ([]byte, error) {
	var e encoder
	return e.value(b, v, nil)
}

// AppendObject appends m, a member of a text in which depth objects and
// arrays are open, with its keys sorted, as encoding/json does.
func AppendObject(b []byte, m map[string]any, depth int) ([]byte, error) {
	e := encoder{base: depth}
	return e.object(b, m, nil)
}

// value appends v, a member of the container at (nil: of none).
func (e *encoder) value(b []byte, v any, at *frame) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return AppendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		b, err := appendFloat(b, x, 64)
		return b, located(at, err)
	case float32:
		b, err := appendFloat(b, float64(x), 32)
		return b, located(at, err)
	case map[string]any:
		return e.object(b, x, at)
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		f, err := e.open(container{reflect.ValueOf(v).Pointer(), len(x)}, v, at)
		if err != nil {
			return nil, err
		}
		b = append(b, '[')
		for i, el := range x {
			if i > 0 {
				b = append(b, ',')
			}
			f.index = i
			if b, err = e.value(b, el, &f); err != nil {
				return nil, err
			}
		}
		e.close(f)
		return append(b, ']'), nil
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		if err := e.nest(at, 1); err != nil {
			return nil, located(at, err)
		}
		return AppendStrings(b, x), nil
	case json.Number:
		if !validNumber(string(x)) {
			return nil, located(at, fmt.Errorf("json: invalid number literal %q", string(x)))
		}
		if x == "" {
			return append(b, '0'), nil // as encoding/json writes an empty Number
		}
		return append(b, x...), nil
	}
	j, err := json.Marshal(v)
	if err == nil {
		err = e.nest(at, nesting(j))
	}
	if err != nil {
		return nil, located(at, err)
	}
	return append(b, j...), nil
}

// object appends m, a member of the container at, with its keys sorted, as
// encoding/json does.
func (e *encoder) object(b []byte, m map[string]any, at *frame) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	f, err := e.open(container{reflect.ValueOf(m).Pointer(), -1}, m, at)
	if err != nil {
		return nil, err
	}
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		f.key = k
		if b, err = e.value(b, m[k], &f); err != nil {
			return nil, err
		}
	}
	e.close(f)
	return append(b, '}'), nil
}

// open returns the frame of c, the container v, a member of the container
// at, unless that nests too deep or c is already open (a cycle).
func (e *encoder) open(c container, v any, at *frame) (frame, error) {
	if err := e.nest(at, 1); err != nil {
		return frame{}, located(at, err)
	}
	f := frame{parent: at, c: c, depth: 1, index: -1}
	if at != nil {
		f.depth = at.depth + 1
	}
	if e.set == nil && f.depth > scanDepth {
		e.set = make(map[container]struct{}, 2*scanDepth)
		for p := at; p != nil; p = p.parent {
			e.set[p.c] = struct{}{}
		}
	}
	if e.set == nil {
		for p := at; p != nil; p = p.parent {
			if p.c == c {
				return frame{}, located(at, cycleError(v))
			}
		}
	} else {
		if _, ok := e.set[c]; ok {
			return frame{}, located(at, cycleError(v))
		}
		e.set[c] = struct{}{}
	}
	return f, nil
}

// close ends the frame f.
func (e *encoder) close(f frame) {
	if e.set != nil {
		delete(e.set, f.c)
	}
}

// nest reports an error when n more levels inside the container at would
// nest deeper than MaxDepth.
func (e *encoder) nest(at *frame, n int) error {
	depth := e.base + n
	if at != nil {
		depth += at.depth
	}
	if depth > MaxDepth {
		return fmt.Errorf("json: unsupported value: nested deeper than %d levels", MaxDepth)
	}
	return nil
}

// A PathError is an error of the encoder at a value inside the one written:
// a member of an object or an element of a list, at any depth.
type PathError struct {
	// Path names the value from the outermost object inward: member keys
	// joined by dots, list elements by their index in brackets
	// ("cart.items[2].price"); it shows at most maxPathSegments of them,
	// then an ellipsis.
	Path string
	Err  error
}

func (e *PathError) Error() string { return fmt.Sprintf("%v (at %q)", e.Err, e.Path) }

func (e *PathError) Unwrap() error { return e.Err }

// maxPathSegments is how many keys and indexes a PathError's Path shows.
const maxPathSegments = 16

// located returns err as a PathError at the member being written in the
// container at; the value itself when at is nil, or err is nil.
func located(at *frame, err error) error {
	if err == nil || at == nil {
		return err
	}
	// The frames link inward-out and live on the callers' stacks: the path
	// is read from them, outermost first, and copied, so that no pointer to
	// a frame leaves (which would move every frame to the heap).
	var path []byte
	for i := range at.depth {
		if i == maxPathSegments {
			path = append(path, "…"...)
			break
		}
		f := at
		for range at.depth - 1 - i {
			f = f.parent
		}
		if f.index >= 0 {
			path = append(path, '[')
			path = strconv.AppendInt(path, int64(f.index), 10)
			path = append(path, ']')
			continue
		}
		if i > 0 {
			path = append(path, '.')
		}
		path = append(path, f.key...)
	}
	return &PathError{Path: string(path), Err: err}
}

// cycleError is the error for v, a value that holds itself, as
// encoding/json words it.
func cycleError(v any) error {
	return fmt.Errorf("json: unsupported value: encountered a cycle via %T", v)
}

// nesting returns the deepest nesting of objects and arrays in the JSON
// text j.
func nesting(j []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(j); i++ {
		switch c := j[i]; {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// AppendStrings appends a list of strings.
func AppendStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// validNumber reports whether s is a JSON number (or empty, which
// encoding/json writes as 0).
func validNumber(s string) bool {
	if s == "" {
		return true
	}
	d := Decoder{b: []byte(s)}
	_, _, err := d.scanNumber()
	return err == nil && d.i == len(s)
}

// appendFloat appends f as encoding/json does: the shortest
// representation, in exponent form only for very small or large magnitudes.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("json: unsupported value: %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// 1e-07 becomes 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s quoted as encoding/json quotes it: invalid UTF-8
// as \ufffd, and <, >, &, U+2028 and U+2029 escaped.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += n
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += n
			start = i
			continue
		}
		i += n
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

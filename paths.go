package session

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/sessionkit/session/internal/jsoncodec"
)

// Dot notation: "user.name" names data["user"]["name"]. Every key is split on
// every dot; a path segment may be any string, including an empty one.

// getPath returns the value at key and whether it is present.
func getPath(data map[string]any, key string) (any, bool) {
	m := data
	for {
		seg, rest, more := strings.Cut(key, ".")
		v, ok := m[seg]
		if !ok || !more {
			return v, ok
		}
		if m, ok = asMap(v); !ok {
			return nil, false
		}
		key = rest
	}
}

// setPath stores v at key, creating intermediate maps and replacing
// intermediate values that are not maps.
func setPath(data map[string]any, key string, v any) {
	m := data
	for {
		seg, rest, more := strings.Cut(key, ".")
		if !more {
			m[seg] = v
			return
		}
		next, ok := asMap(m[seg])
		if !ok {
			next = map[string]any{}
		}
		m[seg] = next
		m, key = next, rest
	}
}

// deletePath removes the value at key; parents stay, even when empty.
func deletePath(data map[string]any, key string) {
	m := data
	for {
		seg, rest, more := strings.Cut(key, ".")
		if !more {
			delete(m, seg)
			return
		}
		next, ok := asMap(m[seg])
		if !ok {
			return // nothing at this path
		}
		m[seg] = next // a converted struct or typed map is stored as a map from now on
		m, key = next, rest
	}
}

// asMap returns v as a map[string]any. Values decoded from a stored session
// already are; a map or struct put in this request is converted through JSON
// (as it will be stored), so paths work the same before and after a reload.
func asMap(v any) (map[string]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return v, true
	case nil:
		return nil, false
	}
	k := reflect.TypeOf(v).Kind()
	if k == reflect.Pointer {
		k = reflect.TypeOf(v).Elem().Kind()
	}
	if k != reflect.Map && k != reflect.Struct {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	m, err := jsoncodec.Decode(b)
	if err != nil {
		return nil, false
	}
	mm, ok := m.(map[string]any)
	return mm, ok
}

// asList returns v as a []any when it is a list (any slice or array except
// bytes, which JSON stores as a string).
func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	if v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	l := make([]any, rv.Len())
	for i := range l {
		l[i] = rv.Index(i).Interface()
	}
	return l, true
}

// pushPath appends v to the list at key; a missing or nil value becomes a new
// list. It reports false, changing nothing, when the value is not a list.
func pushPath(data map[string]any, key string, v any) bool {
	cur, ok := getPath(data, key)
	if !ok || cur == nil {
		setPath(data, key, []any{v})
		return true
	}
	l, ok := asList(cur)
	if !ok {
		return false
	}
	// A fresh slice: the old one may be shared with the caller who put it.
	setPath(data, key, append(l[:len(l):len(l)], v))
	return true
}

// deepCopy copies the maps and lists of v, so that a caller may change the
// copy without changing the session. A map or list that holds itself (which
// the save refuses, but a handler can put) is copied as one that holds its
// copy, so that the copy ends.
func deepCopy(v any) any {
	var c copier
	return c.copy(v, nil)
}

// A copier copies one value. It keeps the containers being copied, the path
// from the value to the one at hand, to find a container that holds itself:
// by walking the frames, and beyond copyScanDepth in a set.
type copier struct {
	copies []any           // the copies of the open containers, outermost first
	set    map[copyKey]int // their depths, once deeper than copyScanDepth
}

// A copyFrame is a container being copied, on the stack of the call that
// copies it; its copy is copier.copies[depth-1].
type copyFrame struct {
	parent *copyFrame
	key    copyKey
	depth  int
}

// A copyKey identifies a map (n == -1) or a []any (its first element and
// its length).
type copyKey struct {
	ptr uintptr
	n   int
}

const copyScanDepth = 32

func (c *copier) copy(v any, at *copyFrame) any {
	var key copyKey
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return v
		}
		key = copyKey{reflect.ValueOf(v).Pointer(), -1}
	case []any:
		if x == nil {
			return v
		}
		key = copyKey{reflect.ValueOf(v).Pointer(), len(x)}
	default:
		return v
	}
	if depth := c.depthOf(key, at); depth > 0 {
		return c.copies[depth-1] // v holds itself: so does the copy
	}
	f := copyFrame{parent: at, key: key, depth: 1}
	if at != nil {
		f.depth = at.depth + 1
	}
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		c.enter(&f, m)
		for k, e := range x {
			m[k] = c.copy(e, &f)
		}
	case []any:
		l := make([]any, len(x))
		c.enter(&f, l)
		for i, e := range x {
			l[i] = c.copy(e, &f)
		}
	}
	cp := c.copies[f.depth-1]
	c.copies = c.copies[:f.depth-1]
	if c.set != nil {
		delete(c.set, key)
	}
	return cp
}

// depthOf returns the depth of the container key when it is being copied
// (it encloses the value at hand), 0 otherwise.
func (c *copier) depthOf(key copyKey, at *copyFrame) int {
	if c.set != nil {
		return c.set[key]
	}
	for p := at; p != nil; p = p.parent {
		if p.key == key {
			return p.depth
		}
	}
	return 0
}

// enter records that f's container is being copied into cp.
func (c *copier) enter(f *copyFrame, cp any) {
	c.copies = append(c.copies, cp)
	if c.set == nil && f.depth > copyScanDepth {
		c.set = make(map[copyKey]int, 2*copyScanDepth)
		for p := f.parent; p != nil; p = p.parent {
			c.set[p.key] = p.depth
		}
	}
	if c.set != nil {
		c.set[f.key] = f.depth
	}
}

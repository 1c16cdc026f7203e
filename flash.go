package session

import "slices"

// Flash data ages at the end of every request that passes the middleware:
//
//   - a key flashed in this request (flashNext) is stored as flash data and is
//     readable in the whole next request;
//   - a key that was loaded as flash data (flashNow) is removed from the data
//     when this request ends, unless Reflash or Keep moved it to flashNext or
//     Put made it permanent.

// unflash makes key permanent: it is no longer flash data.
func (st *state) unflash(key string) {
	st.flashNow = remove(st.flashNow, key)
	st.flashNext = remove(st.flashNext, key)
}

// age ends the request for the flash data: keys readable in this request only
// are removed.
func (st *state) age() {
	for _, k := range st.flashNow {
		deletePath(st.data, k)
	}
	st.flashNow = nil
}

// restrictFlash re-splits st's flash keys after st was decoded from a record
// that another request may have changed since this one loaded: only the keys
// this request saw as flash data (seen) expire with it; keys flashed since by
// another request stay readable in the next request.
func (st *state) restrictFlash(seen []string) {
	var now, next []string
	for _, k := range st.flashNow {
		if slices.Contains(seen, k) {
			now = append(now, k)
		} else {
			next = append(next, k)
		}
	}
	st.flashNow, st.flashNext = now, next
}

// needsAging reports whether saving must write to age flash data.
func (st *state) needsAging() bool { return len(st.flashNow) > 0 }

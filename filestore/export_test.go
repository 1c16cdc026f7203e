package filestore

import (
	"bytes"
	"time"
)

// HeaderSize is the size of a v2 file's header; Magic starts a v2 file.
const (
	HeaderSize = hdrSize
	Magic      = v2Magic
)

// Decoded is what DecodeFile finds in a file's bytes.
type Decoded struct {
	V2     bool      // the file starts with the magic
	OK     bool      // a v1 file, or a whole v2 file
	Data   []byte    // the data, when OK (a v1 file's whole content)
	Expiry time.Time // a v2 file's header expiry, when its header is valid
	Seq    uint64    // a v2 file's write number, when OK
	Cap    int       // a v2 file's slot capacity, when OK
}

// DecodeFile parses a file's content as Load does (without the mtime).
func DecodeFile(b []byte) Decoded {
	data, exp, kind, ok := decodeFile(b)
	d := Decoded{V2: kind != v1File, OK: ok, Data: data}
	if kind == v2File || kind == v2BadSize {
		d.Expiry = time.Unix(0, exp)
	}
	if kind == v2File && ok {
		h, _ := parseHeader(b)
		d.Seq, d.Cap = h.seq, int(h.cap)
	}
	return d
}

// EncodeFile returns the v2 file the store creates for data with expiry.
func EncodeFile(data []byte, expiry time.Time) []byte {
	return encodeFile(nil, 0, data, expiry.UnixNano())
}

// InPlace is what an in-place write does to a v2 file, in order: Slot at
// SlotOff (the data, then zeros to the slot's end), Header at offset 0,
// then WipeLen zero bytes at WipeOff (the previous version's data).
type InPlace struct {
	SlotOff          int64
	Slot, Header     []byte
	WipeOff, WipeLen int64
}

// Apply returns a copy of the file b after the writes of w.
func (w InPlace) Apply(b []byte) []byte {
	b = bytes.Clone(b)
	copy(b[w.SlotOff:], w.Slot)
	copy(b, w.Header)
	clear(b[w.WipeOff : w.WipeOff+w.WipeLen])
	return b
}

// InPlaceWrite returns the writes an in-place write of data with expiry
// makes to the v2 file b. ok is false when b is not a whole v2 file or the
// data would not be written in place.
func InPlaceWrite(b, data []byte, expiry time.Time) (w InPlace, ok bool) {
	h, kind := classify(b, int64(len(b)))
	if kind != v2File || !fitsInPlace(h.cap, len(data)) {
		return InPlace{}, false
	}
	prev := h
	h.seq++
	h.expiry, h.len, h.crc = expiry.UnixNano(), uint32(len(data)), checksum(data)
	w.SlotOff, w.Slot = h.dataOff(), make([]byte, h.cap)
	copy(w.Slot, data)
	w.Header = make([]byte, hdrSize)
	h.put(w.Header)
	w.WipeOff, w.WipeLen = prev.dataOff(), int64(prev.len)
	return w, true
}

// SetWriteHook makes every in-place write call f with "data" before its
// data, "header" between its data and its header, "wipe" between its
// header and the wipe of the previous data, and "done" after all three;
// nil removes the hook. Not safe while writes run.
func SetWriteHook(f func(stage string)) { writeHook = f }

// SetTornHook makes Load call f each time it reads a file torn, with
// whether it held the shard lock; nil removes the hook. Not safe while
// Loads run.
func SetTornHook(f func(locked bool)) { tornHook = f }

// SetIndexHook makes every append of an index entry call f with the ID,
// after the append and before the session is written, with the shard lock
// held; nil removes the hook. Not safe while writes run.
func SetIndexHook(f func(id string)) { indexHook = f }

// ShardOf returns the lock shard of id, which names its index log.
func ShardOf(id string) int { return shardOf(id) }

// UserSweepBudget bounds the work of one Sweep on the user index.
const UserSweepBudget = userSweepBudget

// UserFile returns the index file of userID.
func (s *Store) UserFile(userID string) string {
	path, _ := s.userFile(userID)
	return path
}

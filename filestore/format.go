package filestore

import (
	"encoding/binary"
	"hash/crc32"
	"unsafe"
)

// The v2 session file format (see the package documentation): a header of
// hdrSize bytes, then two slots of cap bytes each. All integers are
// little-endian.
//
//	 0  magic   8 bytes, v2Magic
//	 8  seq     uint64: the number of the last data write; seq&1 is the active slot
//	16  expiry  int64: Unix nanoseconds
//	24  cap     uint32: the capacity of each slot
//	28  len     uint32: the length of the active slot's data
//	32  crc     uint32: CRC-32C of the active slot's data
//	36  hcrc    uint32: CRC-32C of bytes 0 to 35
//	40  slot 0, then slot 1 at 40+cap
//
// The header is the commit record: a write puts its data into the inactive
// slot, then writes the whole header naming that slot.
const (
	v2Magic = "\x00skf2\x00\r\n"
	hdrSize = 40
	// minCap is the smallest slot capacity; capacities are powers of two.
	minCap = 512
	// maxData is the largest data a session may hold (a capacity fits a
	// uint32).
	maxData = 1 << 31
	// shrinkFrom and shrinkBy: a file whose slots hold shrinkFrom bytes or
	// more is rewritten smaller when the data would fit a capacity of
	// 1/shrinkBy of them, so that one large write does not make every
	// later read of the session large.
	shrinkFrom = 64 << 10
	shrinkBy   = 8
	// readWhole is the largest file read takes in with a single read; of a
	// larger one it reads the header, then the active slot's data.
	readWhole = 16 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum returns the CRC-32C of b (with the processor's instructions
// where it has them).
func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// headerSum returns the CRC-32C of b as checksum does, byte by byte: for
// the 36 bytes of a header that is as fast, and it lets b stay on the stack
// (hash/crc32 calls its code through a function value, to which b would
// escape).
func headerSum(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc = castagnoli[byte(crc)^c] ^ crc>>8
	}
	return ^crc
}

// header is a v2 file's header, magic and check left out.
type header struct {
	seq    uint64 // the number of the last data write; its parity is the active slot
	expiry int64  // Unix nanoseconds
	cap    uint32 // the capacity of each slot
	len    uint32 // the length of the active slot's data
	crc    uint32 // CRC-32C of the active slot's data
}

// dataOff returns the offset of the active slot.
func (h *header) dataOff() int64 { return hdrSize + int64(h.seq&1)*int64(h.cap) }

// size returns the size of a file with h's capacity.
func (h *header) size() int64 { return hdrSize + 2*int64(h.cap) }

// put writes h, with the magic and the check, into b[:hdrSize].
func (h *header) put(b []byte) {
	_ = b[hdrSize-1]
	copy(b, v2Magic)
	binary.LittleEndian.PutUint64(b[8:], h.seq)
	binary.LittleEndian.PutUint64(b[16:], uint64(h.expiry))
	binary.LittleEndian.PutUint32(b[24:], h.cap)
	binary.LittleEndian.PutUint32(b[28:], h.len)
	binary.LittleEndian.PutUint32(b[32:], h.crc)
	binary.LittleEndian.PutUint32(b[36:], headerSum(b[:36]))
}

// parseHeader decodes the header in b, which starts with the magic. It
// fails when b is too short or the check does not match (a header being
// written as it was read, or a damaged one), or when the data length
// exceeds the capacity.
func parseHeader(b []byte) (header, bool) {
	if len(b) < hdrSize || headerSum(b[:36]) != binary.LittleEndian.Uint32(b[36:]) {
		return header{}, false
	}
	h := header{
		seq:    binary.LittleEndian.Uint64(b[8:]),
		expiry: int64(binary.LittleEndian.Uint64(b[16:])),
		cap:    binary.LittleEndian.Uint32(b[24:]),
		len:    binary.LittleEndian.Uint32(b[28:]),
		crc:    binary.LittleEndian.Uint32(b[32:]),
	}
	if h.len > h.cap {
		return header{}, false
	}
	return h, true
}

// fileKind is what the first bytes of a session file say it is.
type fileKind uint8

const (
	v1File      fileKind = iota // no magic: the data itself, the mtime its expiry
	v2File                      // a valid header and the size it gives
	v2BadHeader                 // the magic, but no valid header
	v2BadSize                   // a valid header, but another size: being created, or damaged
)

// classify inspects the first bytes b of a file of size bytes (b holds at
// least hdrSize bytes when the file has them). The header is returned for
// v2File and v2BadSize.
func classify(b []byte, size int64) (header, fileKind) {
	if len(b) < len(v2Magic) || string(b[:len(v2Magic)]) != v2Magic {
		return header{}, v1File
	}
	h, ok := parseHeader(b)
	if !ok {
		return header{}, v2BadHeader
	}
	if size != h.size() {
		return h, v2BadSize
	}
	return h, v2File
}

// capFor returns the slot capacity a new file for n bytes of data gets:
// the smallest power of two of at least minCap and n.
func capFor(n int) uint32 {
	c := uint32(minCap)
	for int(c) < n {
		c <<= 1
	}
	return c
}

// fitsInPlace reports whether n bytes of data may be written in place into
// a file whose slots hold capacity bytes: they fit, and the file is not one
// to shrink.
func fitsInPlace(capacity uint32, n int) bool {
	return n <= int(capacity) && !(capacity >= shrinkFrom && capFor(n) <= capacity/shrinkBy)
}

// fileSize returns the size of the v2 file encodeFile makes for n bytes of
// data.
func fileSize(n int) int64 { return hdrSize + 2*int64(capFor(n)) }

// encodeFile returns a whole v2 file holding data with expiry (Unix
// nanoseconds) in slot 0, as write number seq (even), with capFor(len(data))
// as capacity; the rest is zeros. It is written into buf when buf has room
// for it (fileSize), into a new slice otherwise.
func encodeFile(buf []byte, seq uint64, data []byte, expiry int64) []byte {
	h := header{seq: seq &^ 1, expiry: expiry, cap: capFor(len(data)), len: uint32(len(data)), crc: checksum(data)}
	var b []byte
	if int64(cap(buf)) >= h.size() {
		b = buf[:h.size()]
		clear(b)
	} else {
		b = make([]byte, h.size())
	}
	h.put(b)
	copy(b[h.dataOff():], data)
	return b
}

// decodeFile returns what a file holding b says, as read does for a whole
// file: for a v2 file whose header is valid, whose size is the one the
// header gives and whose active data matches its checksum, that data (a
// subslice of b) and the expiry, with ok; for a file without the magic
// (a v1 file), kind v1File and b itself as data.
func decodeFile(b []byte) (data []byte, expiry int64, kind fileKind, ok bool) {
	h, kind := classify(b, int64(len(b)))
	switch kind {
	case v1File:
		return b, 0, kind, true
	case v2File:
		off := h.dataOff()
		data = b[off : off+int64(h.len) : off+int64(h.len)]
		if checksum(data) != h.crc {
			return nil, h.expiry, kind, false
		}
		return data, h.expiry, kind, true
	}
	return nil, h.expiry, kind, false
}

// headerBuf is room for a header that write copies from a part of it that
// does not cross a page boundary: the kernel then copies the header into
// the page cache in one piece, which a process kill cannot interrupt (a
// source page faulting in the middle of a copy could otherwise leave a
// header half written on a kill). It is kept in a shard, under its lock:
// the heap does not move.
type headerBuf [2 * hdrSize]byte

// page returns hdrSize bytes of b that lie within one 4 KiB page (the
// smallest page size): if the first hdrSize do not, the next do.
func (b *headerBuf) page() []byte {
	if p := uintptr(unsafe.Pointer(&b[0])) % 4096; p > 4096-hdrSize {
		return b[hdrSize:]
	}
	return b[:hdrSize]
}

package session

import "slices"

// A request never writes back the snapshot it loaded. Each change is recorded
// as an op, applied at once to the request's own state (so the request reads
// its own writes) and replayed at save time onto the record as it then
// stands, inside the store's atomic Update. Two requests that change
// different keys both win; concurrent pushes all land.

type opKind uint8

const (
	opPut opKind = iota
	opForget
	opPush
	opFlush
	opFlash
	opReflash
	opKeep
	opToken  // set the CSRF token to str
	opAddOTT // add one-time token str
	opUseOTT // remove one-time token str
	opLogin  // tie the session to a user: value is a login
	opLife   // set the session's own idle lifetime: value is an int64 of ms
	opBorn   // start the absolute lifetime's clock, unless started: value is an int64 Unix ms
)

// A login is the value of an opLogin.
type login struct {
	user, agent, ip string
	born            int64 // Unix ms
}

type op struct {
	kind  opKind
	key   string
	value any // opKeep: the kept keys, a []string
}

// maxOneTimeTokens is how many one-time tokens a session keeps, newest first.
const maxOneTimeTokens = 20

// apply applies o to st. Replayed onto a record changed by another request, an
// op that no longer fits (a push onto what is now not a list) does nothing.
func (st *state) apply(o op) {
	switch o.kind {
	case opPut:
		setPath(st.data, o.key, o.value)
		st.unflash(o.key)
	case opForget:
		deletePath(st.data, o.key)
		st.unflash(o.key)
	case opPush:
		pushPath(st.data, o.key, o.value)
	case opFlush:
		clear(st.data)
		st.flashNow, st.flashNext = nil, nil
	case opFlash:
		setPath(st.data, o.key, o.value)
		st.flashNow = remove(st.flashNow, o.key)
		if !slices.Contains(st.flashNext, o.key) {
			st.flashNext = append(st.flashNext, o.key)
		}
	case opReflash:
		st.flashNext = append(st.flashNext, st.flashNow...)
		st.flashNow = nil
	case opKeep:
		keys, _ := o.value.([]string)
		for _, k := range keys {
			if slices.Contains(st.flashNow, k) {
				st.flashNow = remove(st.flashNow, k)
				st.flashNext = append(st.flashNext, k)
			}
		}
	case opToken:
		st.token = o.key
	case opAddOTT:
		st.ott = slices.Insert(slices.Clone(st.ott), 0, o.key)
		if len(st.ott) > maxOneTimeTokens {
			st.ott = st.ott[:maxOneTimeTokens]
		}
	case opUseOTT:
		st.ott = remove(st.ott, o.key)
	case opLogin:
		l, _ := o.value.(login)
		a := st.who()
		a.user, a.agent, a.ip, a.born = l.user, l.agent, l.ip, l.born
		st.setAccount(a)
	case opLife:
		a := st.who()
		a.life, _ = o.value.(int64)
		st.setAccount(a)
	case opBorn:
		if a := st.who(); a.born == 0 {
			a.born, _ = o.value.(int64)
			st.setAccount(a)
		}
	}
}

// remove returns list without k, in a new slice when k was there (lists may
// be shared with a snapshot).
func remove(list []string, k string) []string {
	i := slices.Index(list, k)
	if i < 0 {
		return list
	}
	return slices.Delete(slices.Clone(list), i, i+1)
}

package session

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/sessionkit/session/internal/jsoncodec"
)

// payloadVersion is the version of the stored envelope.
const payloadVersion = 1

// envelope is the stored form of a session: JSON, readable by operators and
// other languages. User data has its own map, so no user key is reserved.
// encodeClientState and decodeClientState write and read exactly this
// struct's encoding/json form, by hand (see internal/jsoncodec).
type envelope struct {
	V     int            `json:"v"`
	Data  map[string]any `json:"data,omitempty"`
	Flash []string       `json:"flash,omitempty"` // keys readable in the next request, then removed
	Token string         `json:"token,omitempty"` // CSRF token
	OTT   []string       `json:"ott,omitempty"`   // one-time tokens, newest first
	User  string         `json:"user,omitempty"`  // the user the session belongs to (Session.Login)
	Born  int64          `json:"born,omitempty"`  // Unix ms: began, or last logged in (the absolute lifetime's start)
	Life  int64          `json:"life,omitempty"`  // ms: the session's own idle lifetime (Session.SetLifetime)
	UA    string         `json:"ua,omitempty"`    // User-Agent of the Login request
	IP    string         `json:"ip,omitempty"`    // host of the Login request's RemoteAddr
	clientFields
}

// state is a session's contents while a request works on it.
type state struct {
	data      map[string]any
	flashNow  []string // flash keys readable in this request only (loaded as flash data)
	flashNext []string // flash keys readable in this and the next request
	token     string
	ott       []string
	acct      *account // nil for an anonymous session of default lifetimes: one pointer, not 64 bytes, in every request
}

// account ties a session to a user and gives it its own lifetimes. It is
// never changed in place (states share it): set a new one with setAccount.
type account struct {
	user  string // "" when anonymous
	agent string // User-Agent of the Login request
	ip    string // host of the Login request's RemoteAddr
	born  int64  // Unix ms: when the session began or its user last logged in; 0 when unknown
	life  int64  // ms: the session's own idle lifetime; 0 for Config.Lifetime
}

// who returns st's account (the zero account when it has none).
func (st *state) who() account {
	if st.acct == nil {
		return account{}
	}
	return *st.acct
}

// setAccount gives st the account a (none when a is zero).
func (st *state) setAccount(a account) {
	if a == (account{}) {
		st.acct = nil
		return
	}
	p := new(account) // not &a: a would then be moved to the heap on every call
	*p = a
	st.acct = p
}

// encodeState returns the JSON envelope of st. Flash keys of both kinds are
// stored as flash data; call age first when the request is over.
func encodeState(st *state) ([]byte, error) {
	return encodeClientState(st, clientFields{})
}

// encodeClientState is encodeState with the cookie driver's fields. The
// output is what encoding/json.Marshal writes for the envelope struct.
func encodeClientState(st *state, cf clientFields) ([]byte, error) {
	return appendClientState(make([]byte, 0, 256), st, cf)
}

// appendClientState is encodeClientState appending to b.
func appendClientState(b []byte, st *state, cf clientFields) ([]byte, error) {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, payloadVersion, 10)
	if len(st.data) > 0 {
		b = append(b, `,"data":`...)
		var err error
		if b, err = jsoncodec.AppendObject(b, st.data, 1); err != nil { // inside the envelope
			// Name the key, for the log: the handler that put the value
			// has returned by now.
			if pe, ok := errors.AsType[*jsoncodec.PathError](err); ok {
				return nil, fmt.Errorf("%w: key %q: %w", ErrEncode, pe.Path, pe.Err)
			}
			return nil, fmt.Errorf("%w: %w", ErrEncode, err)
		}
	}
	if len(st.flashNow)+len(st.flashNext) > 0 {
		b = append(b, `,"flash":`...)
		b = jsoncodec.AppendStrings(b, slices.Concat(st.flashNow, st.flashNext))
	}
	if st.token != "" {
		b = append(b, `,"token":`...)
		b = jsoncodec.AppendString(b, st.token)
	}
	if len(st.ott) > 0 {
		b = append(b, `,"ott":`...)
		b = jsoncodec.AppendStrings(b, st.ott)
	}
	b = appendAccount(b, st)
	if cf.ID != "" {
		b = append(b, `,"id":`...)
		b = jsoncodec.AppendString(b, cf.ID)
	}
	if cf.Exp != 0 {
		b = append(b, `,"exp":`...)
		b = strconv.AppendInt(b, cf.Exp, 10)
	}
	return append(b, '}'), nil
}

// appendAccount appends the envelope fields that tie a session to a user and
// give it its own lifetimes, each only when set.
func appendAccount(b []byte, st *state) []byte {
	if st.acct == nil {
		return b
	}
	a := st.acct
	if a.user != "" {
		b = append(b, `,"user":`...)
		b = jsoncodec.AppendString(b, a.user)
	}
	if a.born != 0 {
		b = append(b, `,"born":`...)
		b = strconv.AppendInt(b, a.born, 10)
	}
	if a.life != 0 {
		b = append(b, `,"life":`...)
		b = strconv.AppendInt(b, a.life, 10)
	}
	if a.agent != "" {
		b = append(b, `,"ua":`...)
		b = jsoncodec.AppendString(b, a.agent)
	}
	if a.ip != "" {
		b = append(b, `,"ip":`...)
		b = jsoncodec.AppendString(b, a.ip)
	}
	return b
}

// decodeState decodes a JSON envelope. Every stored flash key is readable in
// this request only (flashNow).
func decodeState(b []byte) (state, error) {
	st, _, err := decodeClientState(b)
	return st, err
}

// decodeClientState is decodeState that also returns the cookie driver's
// fields. Unknown envelope fields are ignored; a field of the wrong type is
// an error.
func decodeClientState(b []byte) (state, clientFields, error) {
	var (
		st      state
		cf      clientFields
		acct    account
		version int64 = -1
	)
	d := jsoncodec.NewDecoder(b)
	if d.Peek() != '{' {
		return state{}, clientFields{}, fmt.Errorf("%w: payload is not a JSON object", ErrCorrupt)
	}
	err := d.Open()
	for first := true; err == nil; first = false {
		var more bool
		if more, err = d.More(first, '}'); err != nil || !more {
			break
		}
		var key string
		if key, err = d.Key(); err != nil {
			break
		}
		switch key {
		case "v":
			version, err = d.OptInt()
		case "data":
			switch d.Peek() {
			case 'n':
				st.data, err = nil, d.Literal("null")
			case '{':
				st.data, err = d.Object()
			default:
				err = jsoncodec.ErrWrongType
			}
		case "flash":
			st.flashNow, err = d.StringList()
		case "token":
			st.token, err = d.OptString()
		case "ott":
			st.ott, err = d.StringList()
		case "user":
			acct.user, err = d.OptString()
		case "born":
			acct.born, err = d.OptInt()
		case "life":
			acct.life, err = d.OptInt()
		case "ua":
			acct.agent, err = d.OptString()
		case "ip":
			acct.ip, err = d.OptString()
		case "id":
			cf.ID, err = d.OptString()
		case "exp":
			cf.Exp, err = d.OptInt()
		default:
			_, err = d.Value()
		}
		if err == jsoncodec.ErrWrongType {
			err = fmt.Errorf("envelope field %q has the wrong type", key)
		}
	}
	if err == nil {
		err = d.End()
	}
	if err != nil {
		return state{}, clientFields{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if version != payloadVersion {
		return state{}, clientFields{}, fmt.Errorf("%w: payload version %d, want %d", ErrCorrupt, version, payloadVersion)
	}
	if st.data == nil {
		st.data = map[string]any{}
	}
	st.setAccount(acct)
	return st, cf, nil
}

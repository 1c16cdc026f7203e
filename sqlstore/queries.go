package sqlstore

import (
	"strconv"
	"strings"
)

// queries holds the statements of one Store, built once. Their parameters
// are in the order each comment gives; "now" is the current time in Unix
// milliseconds, "expiresAt" the record's expiry in Unix milliseconds, and
// "lastActivity" the current time in Unix seconds.
type queries struct {
	load   string // id (the caller checks expiresAt > now: see Store.loadRow)
	lock   string // id
	lock2  string // id, id
	insert string // id, payload, lastActivity, expiresAt
	update string // payload, lastActivity, expiresAt, id
	del    string // id
	touch  string // lastActivity, expiresAt, id, now
	list   string // now
	sweep  string // now, limit, now (MySQL: now, limit)
	// sweepAll deletes every expired row in one statement: now.
	sweepAll string
}

// A row is live while expiresAt > now. A row whose expiresAt is 0 has no
// expiry recorded (a program unaware of the column wrote it): it never
// loads, and no sweep removes it, until New or sessionctl migrate fills it
// in. So the sweeps delete rows with 0 < expiresAt <= now, the complement
// of live among the rows that have an expiry.

func buildQueries(d Dialect, table string) queries {
	t := quote(d, table)
	id, payload, la, ex := quoteCol(d, colID), quoteCol(d, colPayload), quoteCol(d, colLastActivity), quoteCol(d, colExpiresAt)
	forUpdate := ""
	if d != SQLite {
		forUpdate = " FOR UPDATE"
	}
	expired := ex + " > 0 AND " + ex + " <= ?"
	q := queries{
		load:     "SELECT " + payload + ", " + ex + " FROM " + t + " WHERE " + id + " = ?",
		lock:     "SELECT " + payload + ", " + ex + " FROM " + t + " WHERE " + id + " = ?" + forUpdate,
		lock2:    "SELECT " + id + ", " + payload + ", " + ex + " FROM " + t + " WHERE " + id + " IN (?, ?)" + forUpdate,
		insert:   "INSERT INTO " + t + " (" + id + ", " + payload + ", " + la + ", " + ex + ") VALUES (?, ?, ?, ?)",
		update:   "UPDATE " + t + " SET " + payload + " = ?, " + la + " = ?, " + ex + " = ? WHERE " + id + " = ?",
		del:      "DELETE FROM " + t + " WHERE " + id + " = ?",
		touch:    "UPDATE " + t + " SET " + la + " = ?, " + ex + " = ? WHERE " + id + " = ? AND " + ex + " > ?",
		list:     "SELECT " + id + ", " + la + ", " + ex + " FROM " + t + " WHERE " + ex + " > ?",
		sweepAll: "DELETE FROM " + t + " WHERE " + expired,
	}
	// sweep deletes at most a batch of expired rows. The outer condition
	// is checked again on a row another transaction renewed meanwhile.
	switch d {
	case SQLite:
		q.sweep = "DELETE FROM " + t + " WHERE rowid IN (SELECT rowid FROM " + t + " WHERE " + expired + " LIMIT ?) AND " + expired
	case Postgres:
		// The ORDER BY keeps the planner on the index even when the
		// table's statistics are stale (a seq scan past every live row
		// per batch is several times slower).
		q.sweep = "DELETE FROM " + t + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + t + " WHERE " + expired + " ORDER BY " + ex + " LIMIT ?)) AND " + expired
	case MySQL:
		// MySQL has DELETE ... LIMIT; the ORDER BY walks the index and
		// makes the statement deterministic for replication.
		q.sweep = "DELETE FROM " + t + " WHERE " + expired + " ORDER BY " + ex + " LIMIT ?"
	}
	if d == Postgres {
		for _, p := range []*string{&q.load, &q.lock, &q.lock2, &q.insert, &q.update, &q.del, &q.touch, &q.list, &q.sweep, &q.sweepAll} {
			*p = numbered(*p)
		}
	}
	return q
}

// numbered turns ? placeholders into PostgreSQL's $1, $2, ...
func numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

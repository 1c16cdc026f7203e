package sqlstore

import "time"

// Internals for the tests of package sqlstore_test.
var (
	SQLiteURL     = sqliteURL
	EncodePayload = encodePayload
	DecodePayload = decodePayload
)

// UserListQuery returns the statement that lists a user's index.
func (s *Store) UserListQuery() string { return s.uq.list }

// SetUserTimes sets how long the Store trusts that the user index's table
// is missing, and the least time between two passes of the index's sweep.
func (s *Store) SetUserTimes(recheck, sweepEvery time.Duration) {
	s.users.recheck, s.users.sweepEvery = recheck, sweepEvery
}

// DriverPath reports whether Load still goes to the driver itself (raw.go)
// rather than through database/sql.
func (s *Store) DriverPath() bool { return !s.noRaw.Load() }

// RowLoader reports whether Load still reads with the connection's own
// LoadRow (rowLoader) rather than the driver's Rows.
func (s *Store) RowLoader() bool { return !s.noRaw.Load() && !s.noRowLoader.Load() }

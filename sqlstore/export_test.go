package sqlstore

// Internals for the tests of package sqlstore_test.
var (
	SQLiteDSN     = sqliteDSN
	MySQLConfig   = mysqlConfig
	EncodePayload = encodePayload
	DecodePayload = decodePayload
)

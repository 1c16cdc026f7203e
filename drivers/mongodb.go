package drivers

// The "mongodb" driver: sessions in a MongoDB collection (see package
// github.com/sessionkit/session/mongostore).
import _ "github.com/sessionkit/session/mongostore"

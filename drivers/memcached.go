package drivers

import _ "github.com/sessionkit/session/memcachedstore" // registers "memcached"

package drivers

import _ "github.com/sessionkit/session/redisstore" // registers "redis"

package redisconn

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// RouteLogs sends go-redis's own messages (connection pool trouble,
// reconnects) to log as warnings. By default the client prints them to
// stderr as plain text, "redis: 2026/12/05 …", the one kind of line in
// logshipper's output that is not JSON. go-redis has one logger per
// process, so this is set once, at start.
func RouteLogs(log zerolog.Logger) { goredis.SetLogger(redisLog{log}) }

type redisLog struct{ log zerolog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn().Msgf(format, v...)
}

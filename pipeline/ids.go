package pipeline

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"sync/atomic"
)

// idSource hands out event IDs: 8 random bytes drawn once per process,
// then a counter, base64url-encoded (22 characters). Unique across
// processes and restarts, and increasing within one process, which keeps
// Lucene's term dictionary lookups cheap (Elasticsearch's own auto IDs are
// time-ordered for the same reason).
type idSource struct {
	prefix [8]byte
	n      atomic.Uint64
}

func newIDSource() *idSource {
	s := &idSource{}
	if _, err := rand.Read(s.prefix[:]); err != nil {
		panic("pipeline: no randomness for event IDs: " + err.Error())
	}
	return s
}

func (s *idSource) next() string {
	var b [16]byte
	copy(b[:8], s.prefix[:])
	binary.BigEndian.PutUint64(b[8:], s.n.Add(1))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

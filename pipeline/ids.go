package pipeline

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"strings"
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

// idLen is the length of an encoded ID.
const idLen = 22

// appendNext appends the next ID to dst.
func (s *idSource) appendNext(dst []byte) []byte {
	var b [16]byte
	copy(b[:8], s.prefix[:])
	binary.BigEndian.PutUint64(b[8:], s.n.Add(1))
	return base64.RawURLEncoding.AppendEncode(dst, b[:])
}

// assign gives every event of qs without an ID the next one: all the
// IDs of one call share one string (one allocation per call, not one per
// event).
func (s *idSource) assign(qs []queued) {
	n := 0
	for _, q := range qs {
		if q.ev.ID == "" {
			n++
		}
	}
	if n == 0 {
		return
	}
	var sb strings.Builder
	sb.Grow(idLen * n)
	var id [idLen]byte
	for range n {
		sb.Write(s.appendNext(id[:0]))
	}
	all := sb.String() // the builder's bytes, not a copy
	for _, q := range qs {
		if q.ev.ID == "" {
			q.ev.ID, all = all[:idLen], all[idLen:]
		}
	}
}

package elasticsearch

import (
	"context"
	"io"
	"net"
)

// bulkConn is a connection to Elasticsearch over which a bulk body goes in
// one write. net/http copies a request body with a known length through
// io.LimitReader, which hides every fast path, so the connection would get
// it 32 KiB at a time: about ten system calls for a bulk of 1,000
// messages, each long enough for the Go runtime to hand the thread's
// processor to another thread meanwhile (measured with UDP at 100,000
// msgs/s: bench/profiles/udp.md). Over TLS the TLS layer writes to it in
// records of its own; this changes nothing there.
type bulkConn struct {
	net.Conn
}

// ReadFrom writes a bulk body (*bodyReader behind the transport's
// io.LimitedReader) with one Write; anything else as io.Copy would.
func (c *bulkConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if br, ok := lr.R.(*bodyReader); ok {
			n, err := br.writeTo(c.Conn, lr.N)
			lr.N -= n
			return n, err
		}
	}
	return io.Copy(c.Conn, r)
}

// bulkDialer wraps dial's connections in bulkConn.
func bulkDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &bulkConn{c}, nil
	}
}

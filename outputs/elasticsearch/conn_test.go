package elasticsearch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// writeCounter records the size of every Write on a connection.
type writeCounter struct {
	net.Conn
	mu     sync.Mutex
	writes []int
}

func (c *writeCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// A bulk body goes over a plain connection in one write (net/http would
// copy it 32 KiB at a time), and arrives whole; the batch's buffer is let
// go once the transport closed the body.
func TestBulkBodyInOneWrite(t *testing.T) {
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	var conns []*writeCounter
	tr := &http.Transport{DialContext: bulkDialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		wc := &writeCounter{Conn: c}
		conns = append(conns, wc)
		return wc, nil
	})}
	defer tr.CloseIdleConnections()

	b := &batch{pool: &sync.Pool{}, body: bytes.Repeat([]byte(`{"create":{}}`+"\n"+`{"message":"x"}`+"\n"), 20000)}
	b.refs.Store(1)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/_bulk", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Body = b.newReader()
	req.ContentLength = int64(len(b.body))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !bytes.Equal(got, b.body) {
		t.Fatalf("the server got %d bytes, want the %d of the body", len(got), len(b.body))
	}
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	n := 0
	for _, w := range conns[0].writes {
		if w == len(b.body) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("writes %v: want the %d-byte body in one", conns[0].writes, len(b.body))
	}
	if r := b.refs.Load(); r != 1 {
		t.Errorf("batch references %d after the request, want 1 (WriteBatch's own)", r)
	}
}

// writeTo honours the transport's length limit and Close: after Close it
// writes nothing, and the buffer's reference it took is given back.
func TestBodyReaderWriteTo(t *testing.T) {
	b := &batch{pool: &sync.Pool{}, body: []byte("0123456789")}
	b.refs.Store(1)
	r := b.newReader()
	var w strings.Builder
	if n, err := r.writeTo(&w, 4); n != 4 || err != nil || w.String() != "0123" {
		t.Fatalf("writeTo(4) = %d, %v, wrote %q", n, err, w.String())
	}
	if n, err := r.writeTo(&w, 100); n != 6 || err != nil || w.String() != "0123456789" {
		t.Fatalf("writeTo(100) = %d, %v, wrote %q", n, err, w.String())
	}
	if n, err := r.writeTo(&w, 100); n != 0 || err != nil {
		t.Fatalf("writeTo at the end = %d, %v", n, err)
	}
	if refs := b.refs.Load(); refs != 2 {
		t.Errorf("references %d while the reader is open, want 2", refs)
	}
	r.Close()
	if n, err := r.writeTo(&w, 100); n != 0 || !errors.Is(err, errBodyClosed) {
		t.Errorf("writeTo after Close = %d, %v; want errBodyClosed", n, err)
	}
	if refs := b.refs.Load(); refs != 1 {
		t.Errorf("references %d after Close, want 1", refs)
	}
}

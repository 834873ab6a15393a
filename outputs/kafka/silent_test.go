package kafka

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/logshipper/logshipper/internal/kafkaconn"
	"github.com/logshipper/logshipper/pipeline"
)

// silentBroker is a one-node cluster that answers ApiVersions, Metadata
// and InitProducerID but never a Produce request: a broker that died, or a
// network that dropped, in the middle of a produce. The idempotent
// producer cannot know whether such a request was written.
type silentBroker struct {
	ln       net.Listener
	topic    string
	mu       sync.Mutex
	produces int
	conns    []net.Conn
}

func newSilentBroker(t *testing.T, topic string) *silentBroker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &silentBroker{ln: ln, topic: topic}
	go b.accept()
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		for _, c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
	})
	return b
}

func (b *silentBroker) accept() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		go b.serve(c)
	}
}

func (b *silentBroker) serve(c net.Conn) {
	for {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil || len(msg) < 8 {
			return
		}
		key := int16(binary.BigEndian.Uint16(msg[0:]))
		version := int16(binary.BigEndian.Uint16(msg[2:]))
		corr := binary.BigEndian.Uint32(msg[4:])
		resp := b.answer(key, version)
		if resp == nil {
			if key == 0 {
				b.mu.Lock()
				b.produces++
				b.mu.Unlock()
			}
			continue // silence
		}
		out := binary.BigEndian.AppendUint32(make([]byte, 4, 64), corr)
		if resp.IsFlexible() && key != 18 { // ApiVersions answers with header v0
			out = append(out, 0)
		}
		out = resp.AppendTo(out)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (b *silentBroker) answer(key, version int16) kmsg.Response {
	host, portStr, _ := net.SplitHostPort(b.ln.Addr().String())
	port, _ := strconv.Atoi(portStr)
	switch key {
	case 18:
		r := kmsg.NewPtrApiVersionsResponse()
		for _, k := range []int16{0, 3, 18, 22} {
			ak := kmsg.NewApiVersionsResponseApiKey()
			ak.ApiKey, ak.MaxVersion = k, kmsg.RequestForKey(k).MaxVersion()
			if k == 0 {
				ak.MinVersion, ak.MaxVersion = 3, 12 // record batches, topic names
			}
			r.ApiKeys = append(r.ApiKeys, ak)
		}
		r.SetVersion(min(version, 3))
		return r
	case 3:
		r := kmsg.NewPtrMetadataResponse()
		br := kmsg.NewMetadataResponseBroker()
		br.NodeID, br.Host, br.Port = 1, host, int32(port)
		r.Brokers = append(r.Brokers, br)
		r.ControllerID = 1
		t := kmsg.NewMetadataResponseTopic()
		t.Topic = kmsg.StringPtr(b.topic)
		t.TopicID = [16]byte{1}
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Leader, p.Replicas, p.ISR = 1, []int32{1}, []int32{1}
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		r.SetVersion(version)
		return r
	case 22:
		r := kmsg.NewPtrInitProducerIDResponse()
		r.ProducerID, r.ProducerEpoch = 7, 0
		r.SetVersion(version)
		return r
	}
	return nil
}

// A produce request the broker never answers does not hold WriteBatch:
// after about twice kafka.timeout (the broker's time for the replicas plus
// the read allowance) every record comes back as a Retry. Without
// AllowIdempotentProduceCancellation the idempotent producer keeps such a
// record until the broker answers, however long the outage.
func TestSilentBrokerDoesNotHoldTheBatch(t *testing.T) {
	cfg := kafkaconn.DefaultConfig()
	cfg.Topic = "silent"
	b := newSilentBroker(t, cfg.Topic)
	cfg.Brokers = []string{b.ln.Addr().String()}
	cfg.Timeout = time.Second
	o := newTestOutput(t, cfg, nil)
	begin := time.Now()
	res, err := o.WriteBatch(context.Background(), events(3))
	took := time.Since(begin)
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, res, pipeline.Retry)
	b.mu.Lock()
	produces := b.produces
	b.mu.Unlock()
	if produces == 0 {
		t.Fatal("no produce request reached the broker")
	}
	if took > 4*cfg.Timeout {
		t.Errorf("WriteBatch took %s with kafka.timeout %s", took, cfg.Timeout)
	}
	t.Logf("%d unanswered produce requests; WriteBatch took %s: %s", produces, took.Round(time.Millisecond), res[0].Reason)
}

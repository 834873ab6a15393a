//go:build linux

package main

import (
	"context"
	"strings"
	"sync"
	"time"
)

// sampler scrapes every second, each in its own loop so a slow answer
// holds up nothing else: each replica's /metrics and /readyz, and
// OpenSearch's document count (after a refresh, so it is exact).
type sampler struct {
	s      *soak
	mu     sync.Mutex
	counts []countSample
}

type countSample struct {
	t time.Time
	n int64
}

func newSampler(s *soak) *sampler { return &sampler{s: s} }

func (p *sampler) start(ctx context.Context, wg *sync.WaitGroup) {
	for _, r := range p.s.reps {
		wg.Add(2)
		go func() { defer wg.Done(); p.every(ctx, func() { p.metrics(ctx, r) }) }()
		go func() { defer wg.Done(); p.every(ctx, func() { p.ready(ctx, r) }) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); p.every(ctx, func() { p.count(ctx) }) }()
}

func (p *sampler) every(ctx context.Context, f func()) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		f()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *sampler) metrics(ctx context.Context, r *replica) {
	inc := r.current()
	if inc == nil {
		return
	}
	m, err := inc.scrape(ctx)
	if err != nil || r.current() != inc {
		return
	}
	select {
	case <-inc.exited:
		return
	default:
	}
	inc.addSample(m)
}

func (p *sampler) ready(ctx context.Context, r *replica) {
	inc := r.current()
	if inc == nil {
		return
	}
	t := time.Now()
	code, body, _ := httpGet(ctx, "http://127.0.0.1:"+itoa(r.httpPort)+"/readyz", 4*time.Second)
	if ctx.Err() != nil || r.current() != inc {
		return
	}
	b := strings.TrimSpace(string(body))
	if len(b) > 300 {
		b = b[:300]
	}
	inc.addReady(readySample{t: t, code: code, body: b})
}

func (p *sampler) count(ctx context.Context) {
	t := time.Now()
	if p.s.node.refreshQuick(ctx, p.s.index) != nil {
		return
	}
	n, err := p.s.node.countQuick(ctx, p.s.index)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.counts = append(p.counts, countSample{t: t, n: n})
	p.mu.Unlock()
}

func (p *sampler) countSamples() []countSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]countSample(nil), p.counts...)
}

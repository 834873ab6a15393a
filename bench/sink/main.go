// Command sink is a benchmark instrument: an HTTP server shaped like
// Elasticsearch 7.17 for log shippers (logshipper, rsyslog's
// omelasticsearch, syslog-ng's elasticsearch-http()), so that shippers can
// be measured without Elasticsearch being the bottleneck.
//
// It is NOT an Elasticsearch and never the proof that indexing works: it
// stores nothing, accepts every document and answers every bulk item with
// 201 created. What it does is count: documents, bytes, and the sequence
// number each benchmark message carries ("run=RUNID seq=000000123", see
// bench/loadgen), per run, so the bench can tell unique, duplicated and
// missing messages.
//
// Endpoints: GET|HEAD / (version JSON), GET /_cluster/health,
// PUT|GET|HEAD /_index_template/NAME and /_template/NAME, PUT|HEAD /INDEX,
// POST|PUT /_bulk and /INDEX/_bulk (gzip request bodies understood,
// filter_path honoured for the usual "errors,items.*.status" forms),
// GET /_sink/stats[?run=ID&expect=N], GET /_sink/sample[?action=1] (last
// document, or its action line),
// POST /_sink/reset.
//
// It is written to cost little CPU, because on the 2-core bench machine it
// competes with the shipper under test: the NDJSON body is scanned line by
// line and "seq=" is found with bytes.Index; documents are never decoded.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9200", "listen address (127.0.0.1:0 picks a free port)")
	portFile := flag.String("port-file", "", "write the port actually listened on into this file")
	version := flag.String("es-version", "7.17.0", "version reported by GET /")
	quiet := flag.Bool("quiet", false, "do not log unknown requests")
	delay := flag.Duration("delay", 0, "added to every bulk request (to mimic Elasticsearch's latency)")
	full := flag.Bool("full-responses", false, "ignore filter_path: answer every bulk item in full, as Elasticsearch does without it")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "sink: Elasticsearch-shaped bulk sink that counts documents and sequence numbers (benchmark instrument only).\n\nUsage: sink [flags]\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	s := NewSink(*version)
	s.Quiet = *quiet
	s.Delay = *delay
	s.FullResponses = *full
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("sink: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
			log.Fatalf("sink: %v", err)
		}
	}
	log.Printf("sink: listening on %s (benchmark instrument, not Elasticsearch)", ln.Addr())
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatalf("sink: %v", err)
	}
}

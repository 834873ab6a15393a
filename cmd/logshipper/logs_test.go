package main

import (
	"bytes"
	"encoding/json"
	stdlog "log"
	"os"
	"testing"

	"github.com/rs/zerolog"
)

// What a library prints through Go's standard logger comes out as one
// JSON line of logshipper's log, not plain text.
func TestLibraryLogsAreJSON(t *testing.T) {
	var buf bytes.Buffer
	routeLibraryLogs(zerolog.New(&buf))
	t.Cleanup(func() {
		stdlog.SetOutput(os.Stderr)
		stdlog.SetFlags(stdlog.LstdFlags)
	})
	stdlog.Printf("http: TLS handshake error from %s: EOF", "10.0.0.1:5000")
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	if line["component"] != "go" || line["message"] != "http: TLS handshake error from 10.0.0.1:5000: EOF" {
		t.Errorf("line %v", line)
	}
}

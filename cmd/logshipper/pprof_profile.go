//go:build profile

package main

// Built only with -tags profile (bench/profiles): serves net/http/pprof on
// LOGSHIPPER_PPROF_LISTEN (for example 127.0.0.1:6060) so that a CPU
// profile can be taken while a load runs. Release builds never carry it.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("LOGSHIPPER_PPROF_LISTEN"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}

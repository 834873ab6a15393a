//go:build !linux

package parsers

func processCPU() int64 { return 0 }

//go:build !linux

package parser

func processCPU() int64 { return 0 }

//go:build linux

package main

const sysSendmmsg = 269 // sendmmsg(2) on linux/arm64

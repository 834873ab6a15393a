//go:build linux

package main

const sysSendmmsg = 307 // sendmmsg(2) on linux/amd64

//go:build !linux

package syslog

import (
	"errors"
	"net"
)

const oobSize = 0

// setReadBuffer sets SO_RCVBUF; the granted size is not read back here.
func setReadBuffer(c *net.UDPConn, n int) (granted int, err error) {
	return 0, c.SetReadBuffer(n)
}

func enableDropCount(*net.UDPConn) error {
	return errors.New("SO_RXQ_OVFL is Linux-only")
}

func dropCount([]byte) (uint32, bool) { return 0, false }

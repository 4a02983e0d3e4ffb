//go:build !unix

package ort

import "syscall"

// keepSignals does nothing where there are no POSIX signal actions to keep.
func keepSignals(logf func(format string, args ...any)) (restore func() []syscall.Signal) {
	return func() []syscall.Signal { return nil }
}

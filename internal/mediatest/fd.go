package mediatest

import (
	"os"
	"syscall"
	"testing"
)

// RedirectFD points file descriptor fd (0 for stdin, 1 for stdout) at f until the returned
// function restores it: FFmpeg's pipe: protocol reads and writes the descriptors, not os.Stdin.
func RedirectFD(t testing.TB, fd int, f *os.File) (restore func()) {
	t.Helper()
	saved, err := syscall.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup2(int(f.Fd()), fd); err != nil {
		t.Fatal(err)
	}
	return func() {
		syscall.Dup2(saved, fd)
		syscall.Close(saved)
	}
}

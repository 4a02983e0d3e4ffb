package decode_test

import (
	"os"
	"syscall"
	"testing"
)

// redirectFD0 points file descriptor 0 at f until the returned function restores it.
func redirectFD0(t *testing.T, f *os.File) func() {
	t.Helper()
	saved, err := syscall.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup2(int(f.Fd()), 0); err != nil {
		t.Fatal(err)
	}
	return func() {
		syscall.Dup2(saved, 0)
		syscall.Close(saved)
	}
}

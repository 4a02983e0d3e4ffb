package encode_test

import (
	"os"
	"syscall"
	"testing"
)

// redirectFD1 points file descriptor 1 at f until the returned function restores it.
func redirectFD1(t *testing.T, f *os.File) func() {
	t.Helper()
	saved, err := syscall.Dup(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup2(int(f.Fd()), 1); err != nil {
		t.Fatal(err)
	}
	return func() {
		syscall.Dup2(saved, 1)
		syscall.Close(saved)
	}
}

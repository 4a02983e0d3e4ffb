package diffusion

import (
	"os"
	"testing"
)

var testTemp string

// sharedTemp is a directory shared by the tests of this binary (removed by TestMain).
func sharedTemp(t testing.TB) string { return testTemp }

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "diffusion-test-")
	if err != nil {
		panic(err)
	}
	testTemp = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

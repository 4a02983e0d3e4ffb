package pipeline_test

import (
	"os"
	"testing"

	"github.com/asticode/go-astiav"
)

func TestMain(m *testing.M) {
	astiav.SetLogLevel(astiav.LogLevelError) // keep x264's banners out of test logs
	os.Exit(m.Run())
}

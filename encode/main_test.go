package encode_test

import (
	"os"
	"testing"

	"github.com/asticode/go-astiav"
)

func TestMain(m *testing.M) {
	astiav.SetLogLevel(astiav.LogLevelError) // keep x264's banners out of test logs
	os.Setenv("SVT_LOG", "1")                // and SVT-AV1's, which it prints itself
	os.Exit(m.Run())
}

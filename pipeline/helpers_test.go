package pipeline_test

import (
	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
)

func decodeOpts(in string) decode.Options  { return decode.Options{Input: in} }
func encodeOpts(out string) encode.Options { return encode.Options{Output: out, Preset: "ultrafast"} }

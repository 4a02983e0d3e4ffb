package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/pipeline"
)

// A whole job is one call: here the first second of a shared clip, doubled with Lanczos.
func ExampleRun() {
	clip := filepath.Join("..", "..", "shared", "clips", "01_dog.mp4")
	out := filepath.Join(os.TempDir(), "ugcsr-example.mp4")
	defer os.Remove(out)
	res, err := pipeline.Run(context.Background(), pipeline.Config{
		Input:  decode.Options{Input: clip, Duration: 1e9},
		Output: encode.Options{Output: out, Overwrite: true, Preset: "veryfast"},
		Model:  "lanczos",
		Scale:  2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d frames, %v -> %v with %s\n", res.Frames, res.InSize, res.OutSize, res.Model)
	// Output: 30 frames, (1280,720) -> (2560,1440) with lanczos
}

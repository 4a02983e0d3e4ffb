package ort

import (
	"context"
	"fmt"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// TryDevice says whether dev (cpu, cuda or tensorrt) works with the loaded library: it creates a
// session for a one-node model (Relu over 1x3x8x8) on dev, runs it once and checks the output. A
// GPU device that cannot be had gives an error that Is ErrDeviceUnavailable, wrapping a
// *MissingError when ugcsr's own checks found what is missing. TensorRT builds an engine, which
// takes seconds. The library must be loaded.
func TryDevice(ctx context.Context, dev Device) error {
	if dev == DeviceAuto {
		return fmt.Errorf("onnxruntime: try device: want cpu, cuda or tensorrt, not auto")
	}
	g := onnx.NewGraph("relu")
	g.Input("x", onnx.Float, 1, 3, 8, 8)
	g.Output("y", onnx.Float, 1, 3, 8, 8)
	g.Node("Relu", []string{"x"}, []string{"y"})
	model, err := g.Marshal(17)
	if err != nil {
		return err
	}
	s, err := NewSession(Model{Data: model}, Config{Device: dev, Threads: 1})
	if err != nil {
		return err
	}
	defer s.Close()
	x, err := NewTensor(Float32, 1, 3, 8, 8)
	if err != nil {
		return err
	}
	defer x.Close()
	y, err := NewTensor(Float32, 1, 3, 8, 8)
	if err != nil {
		return err
	}
	defer y.Close()
	for i := range x.Float32() {
		x.Float32()[i] = float32(i%5) - 2
	}
	if err := s.Run(ctx, []*Tensor{x}, []*Tensor{y}); err != nil {
		return err
	}
	for i, v := range y.Float32() {
		if want := max(x.Float32()[i], 0); v != want {
			return fmt.Errorf("onnxruntime: %v: Relu gave %v at %d, want %v", dev, v, i, want)
		}
	}
	return nil
}

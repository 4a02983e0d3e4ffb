package ort

import "fmt"

// Device selects ONNX Runtime's execution provider.
type Device int

const (
	// DeviceAuto tries CUDA and falls back to the CPU, logging one line, when CUDA is unavailable.
	DeviceAuto Device = iota
	// DeviceCPU uses the default CPU provider (MLAS).
	DeviceCPU
	// DeviceCUDA uses the CUDA provider; unavailable is an error.
	DeviceCUDA
	// DeviceTensorRT uses the TensorRT provider, with CUDA behind it for unsupported nodes;
	// unavailable is an error.
	DeviceTensorRT
)

// ParseDevice maps auto, cpu, cuda or tensorrt ("" means auto) to a Device.
func ParseDevice(s string) (Device, error) {
	switch s {
	case "", "auto":
		return DeviceAuto, nil
	case "cpu":
		return DeviceCPU, nil
	case "cuda", "gpu":
		return DeviceCUDA, nil
	case "tensorrt", "trt":
		return DeviceTensorRT, nil
	}
	return 0, fmt.Errorf("onnxruntime: unknown device %q (want auto, cpu, cuda or tensorrt)", s)
}

func (d Device) String() string {
	switch d {
	case DeviceAuto:
		return "auto"
	case DeviceCPU:
		return "cpu"
	case DeviceCUDA:
		return "cuda"
	case DeviceTensorRT:
		return "tensorrt"
	}
	return fmt.Sprintf("Device(%d)", int(d))
}

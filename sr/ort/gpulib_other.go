//go:build !linux

package ort

import (
	"errors"
	"unsafe"
)

var errNotLinux = errors.New("the GPU build is for linux-x64 only")

func dlopen(string, bool) (unsafe.Pointer, error) { return nil, errNotLinux }
func dlopenGlobal(string) error                   { return errNotLinux }
func cudaDevices(string) (int, error)             { return 0, errNotLinux }
func coreVersion(string) (string, error)          { return "", errNotLinux }

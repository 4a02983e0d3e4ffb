package onnx

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// ExternalInitializer adds a constant whose data lies in another file (ONNX's external data, which
// models above protobuf's 2 GB limit need): location is that file's path relative to the model,
// offset and length the byte range of the little-endian data. The caller writes the file; this
// only records where the data is. The length must be prod(dims) elements of t.
func (g *Graph) ExternalInitializer(name string, t DType, dims []int64, location string, offset, length int64) error {
	n, err := elems(dims)
	if err == nil && (t.size() == 0 || n*int64(t.size()) != length) {
		err = fmt.Errorf("dims %v of %v need %d bytes, length is %d", dims, t, n*int64(t.size()), length)
	}
	if err == nil && (location == "" || offset < 0) {
		err = fmt.Errorf("location %q, offset %d", location, offset)
	}
	if err != nil {
		err = fmt.Errorf("%w: external tensor %q: %v", ErrInvalid, name, err)
		g.fail(err)
		return err
	}
	var b []byte
	for _, d := range dims {
		b = protowire.AppendTag(b, tensorDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t))
	b = protowire.AppendTag(b, tensorName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	for _, kv := range [][2]string{{"location", location}, {"offset", strconv.FormatInt(offset, 10)}, {"length", strconv.FormatInt(length, 10)}} {
		var e []byte
		e = protowire.AppendTag(e, entryKey, protowire.BytesType)
		e = protowire.AppendString(e, kv[0])
		e = protowire.AppendTag(e, entryValue, protowire.BytesType)
		e = protowire.AppendString(e, kv[1])
		b = protowire.AppendTag(b, tensorExternal, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	b = protowire.AppendTag(b, tensorLocation, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	g.define("initializer", name)
	g.inits = append(g.inits, b)
	return nil
}

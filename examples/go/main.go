// tenzor from Go through cgo: convert the sample, look tensors up, print a
// summary, write a small file and read it back.
//
//	PKG_CONFIG_PATH=PREFIX/lib/pkgconfig go build -o example .
//	LD_LIBRARY_PATH=PREFIX/lib ./example examples/sample.safetensors /tmp
package main

/*
#cgo pkg-config: tenzor
#include <stdlib.h>
#include <string.h>
#include "tenzor.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"unsafe"
)

// tenzorError is a failed call: its status and the library's message.
type tenzorError struct {
	status C.tenzor_status
	msg    string
}

func (e *tenzorError) Error() string {
	return fmt.Sprintf("%s: %s", C.GoString(C.tenzor_status_str(C.uint32_t(e.status))), e.msg)
}

func check(s C.tenzor_status) error {
	if s == C.TENZOR_OK {
		return nil
	}
	n := C.tenzor_last_error(nil, 0)
	buf := make([]byte, n+1)
	C.tenzor_last_error((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	return &tenzorError{status: s, msg: string(buf[:n])}
}

// File wraps an open tenzor_file; Close releases it.
type File struct{ f *C.tenzor_file }

func Open(path string) (*File, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var f *C.tenzor_file
	if err := check(C.tenzor_open(cpath, &f)); err != nil {
		return nil, err
	}
	return &File{f}, nil
}

func (f *File) Close() { C.tenzor_close(f.f); f.f = nil }

func (f *File) Len() int { return int(C.tenzor_tensor_count(f.f)) }

// Tensor is a view into the mapping; its Data is valid until Close.
type Tensor struct {
	Name  string
	Hash  uint64
	DType string
	Shape []uint64
	Data  []byte
}

func (f *File) Get(name string) (*Tensor, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var t C.tenzor_tensor
	if err := check(C.tenzor_get_tensor(f.f, cname, &t)); err != nil {
		return nil, err
	}
	shape := make([]uint64, int(t.ndim))
	for i := range shape {
		shape[i] = uint64(t.shape[i])
	}
	return &Tensor{
		Name:  C.GoStringN(t.name, C.int(t.name_len)),
		Hash:  uint64(t.name_hash),
		DType: C.GoString(C.tenzor_dtype_name(t.dtype)),
		Shape: shape,
		// No copy: the slice aliases the memory-mapped file.
		Data: unsafe.Slice((*byte)(t.data), int(t.size)),
	}, nil
}

func (f *File) Metadata() (string, error) {
	var json *C.char
	var n C.size_t
	if err := check(C.tenzor_metadata(f.f, &json, &n)); err != nil {
		return "", err
	}
	return C.GoStringN(json, C.int(n)), nil
}

func shapeString(s []uint64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func writeSmall(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var w *C.tenzor_writer
	if err := check(C.tenzor_writer_create(cpath, nil, &w)); err != nil {
		return err
	}
	add := func(name string, dtype C.tenzor_dtype, shape []C.uint64_t, data []byte) error {
		cname := C.CString(name)
		defer C.free(unsafe.Pointer(cname))
		return check(C.tenzor_writer_add(w, cname, dtype, C.size_t(len(shape)), &shape[0],
			unsafe.Pointer(&data[0]), C.size_t(len(data))))
	}
	ones := make([]byte, 16)
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint32(ones[4*i:], 0x3f800000) // 1.0f
	}
	meta := C.CString(`{"written_by":"go"}`)
	defer C.free(unsafe.Pointer(meta))
	err := add("greeting", C.TENZOR_DTYPE_U8, []C.uint64_t{5}, []byte("hello"))
	if err == nil {
		err = add("ones", C.TENZOR_DTYPE_F32, []C.uint64_t{2, 2}, ones)
	}
	if err == nil {
		err = check(C.tenzor_writer_set_metadata(w, meta, C.strlen(meta)))
	}
	if err != nil {
		C.tenzor_writer_abort(w)
		return err
	}
	return check(C.tenzor_writer_finish(w))
}

func run(sample, dir string) error {
	model, small := dir+"/sample.tenzor", dir+"/small.tenzor"
	fmt.Printf("tenzor %s\n", C.GoString(C.tenzor_version()))

	in, out := C.CString(sample), C.CString(model)
	defer C.free(unsafe.Pointer(in))
	defer C.free(unsafe.Pointer(out))
	if err := check(C.tenzor_convert(in, out)); err != nil {
		return err
	}
	f, err := Open(model)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Printf("sample.tenzor: %d tensors, alignment %d\n", f.Len(), uint64(C.tenzor_file_alignment(f.f)))

	head, err := f.Get("lm_head.weight")
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s %s, %d bytes, hash 0x%016x\n", head.Name, head.DType, shapeString(head.Shape), len(head.Data), head.Hash)
	emb, err := f.Get("model.embed_tokens.weight")
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s %s, %d bytes, first element bits 0x%08x\n", emb.Name, emb.DType, shapeString(emb.Shape), len(emb.Data), binary.LittleEndian.Uint32(emb.Data))
	meta, err := f.Metadata()
	if err != nil {
		return err
	}
	fmt.Printf("metadata: %s\n", meta)
	if _, err := f.Get("missing"); err != nil {
		fmt.Printf("lookup of 'missing': %s\n", C.GoString(C.tenzor_status_str(C.uint32_t(err.(*tenzorError).status))))
	}

	if err := writeSmall(small); err != nil {
		return err
	}
	g, err := Open(small)
	if err != nil {
		return err
	}
	defer g.Close()
	if err := check(C.tenzor_verify(g.f)); err != nil {
		return err
	}
	meta, err = g.Metadata()
	if err != nil {
		return err
	}
	fmt.Printf("small.tenzor: %d tensors, verified, metadata %s\n", g.Len(), meta)
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s SAMPLE.safetensors OUT_DIR\n", os.Args[0])
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

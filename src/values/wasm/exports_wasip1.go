//go:build wasip1

package main

import "unsafe"

// The host (src/values/render.ts) keeps one instance: it asks for an input buffer of n bytes, writes a JSON
// Request into it, calls render, and reads the JSON Result from the output buffer. Both buffers are package
// variables, so the garbage collector keeps them (and Go's collector never moves them).
var input, output []byte

//go:wasmexport input_buffer
func inputBuffer(n int32) unsafe.Pointer {
	if int(n) > cap(input) {
		input = make([]byte, n)
	}
	input = input[:n]
	if n == 0 {
		return nil
	}
	return unsafe.Pointer(&input[0])
}

//go:wasmexport render
func render() int32 {
	output = RenderJSON(input)
	return int32(len(output))
}

//go:wasmexport output_buffer
func outputBuffer() unsafe.Pointer {
	if len(output) == 0 {
		return nil
	}
	return unsafe.Pointer(&output[0])
}

func main() {}

//go:build !linux

package main

import "os"

// disableEcho is a no-op where chainsts does not know the terminal ioctls;
// the prompt then echoes.
func disableEcho(*os.File) func() { return func() {} }

// Package stsuu is the stsuu module: it accepts an STSUU document (XML as
// ISAM writes it, or chainsts JSON) as a chain's input token and writes the
// chain's universal user as its output token. See README.md.
package stsuu

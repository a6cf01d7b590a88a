// Package attributes is the attributes module: declarative STSUU mapping
// without code. A map step runs an ordered list of operations (set
// constants, copy or rename between sections and types, delete, allow-list
// filter, principal from an attribute) compiled once at load. See README.md.
package attributes

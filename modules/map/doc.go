// Package mapmod is the "map" module (directory modules/map; "map" is a Go
// keyword, so the package has another name): a map step that runs one
// JavaScript mapping rule of the rules app over the chain's universal
// user. See README.md.
package mapmod

// Command chainsts-load is the HTTP load generator of `make bench`: it
// drives RFC 8693 token exchanges against a running chainsts on loopback
// and prints throughput and latency next to a "crypto only" loop (one ES256
// verify and one ES256 sign per operation, the signature work an exchange
// cannot avoid) measured in the same run, with the ratio PRODUCT §12 states
// its target in.
//
//	chainsts-load keygen -dir DIR
//	    writes DIR/partner.pem (public, for the server's keystore) and
//	    DIR/partner-key.pem (private, signs the subject token)
//	chainsts-load run -url http://127.0.0.1:8080 -key DIR/partner-key.pem \
//	    -client bench -secret S [-duration 10s] [-concurrency 8] [-server-pid PID]
package main

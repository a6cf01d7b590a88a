// Command chainsts-load is the HTTP load generator of `make bench`: it
// drives RFC 8693 token exchanges against a running chainsts on loopback
// and prints throughput and latency (at maximum throughput and paced at
// 70% of it) next to what PRODUCT §12 compares them with, measured in the
// same run: a "crypto only" loop (one ES256 verify and one ES256 sign per
// operation, the signature work an exchange cannot avoid) and the chain's
// mapping rule evaluated on its own. With the server's pid it reads the
// server's CPU time (user and kernel) and memory from /proc and prints the
// CPU per request, the share of it outside crypto and the rule, and the
// RSS, each against its target.
//
//	chainsts-load keygen -dir DIR
//	    writes DIR/partner.pem (public, for the server's keystore) and
//	    DIR/partner-key.pem (private, signs the subject token)
//	chainsts-load run -url http://127.0.0.1:8080 -key DIR/partner-key.pem \
//	    -client bench -secret S [-duration 10s] [-concurrency 8] [-server-pid PID] \
//	    [-rule FILE.js -rule-name NAME] [-startup 120ms] [-startup-first 400ms]
package main

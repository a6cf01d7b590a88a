// Package ratelimit holds keyed token buckets (golang.org/x/time/rate): one
// bucket per client id or source address, kept in memory on each node and
// bounded in number. The native STS API (server) and the OAuth endpoints
// (oauth) both limit with it (SECURITY §2.8): a node enforces its own share,
// which is what protects it.
package ratelimit

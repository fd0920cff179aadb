// Package e2e holds end-to-end tests that drive the built hako binary (bin/hako,
// or $HAKO_BIN) as root against a real registry (Debian's docker-registry) that
// TestMain starts on 127.0.0.1. There is no non-test code here.
package e2e

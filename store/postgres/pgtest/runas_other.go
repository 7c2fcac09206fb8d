//go:build !unix

package pgtest

import "os/exec"

// runAs does nothing: only Unix has users to switch to (and only there does
// the root check in StartCluster apply).
func runAs(*exec.Cmd, int, int) {}

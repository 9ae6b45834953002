// Package latchkeytest runs a whole latchkey in-process for Go tests: the
// Alibaba Cloud ECS, E-HPC and RAM APIs and Baidu BCC's, with real
// signature checks, a real store and real consoles, on loopback ports the
// kernel chooses, in a temporary data directory.
//
//	lk := latchkeytest.Start(t)
//	creds := lk.Credentials()
//	client, err := ecs.NewClientWithAccessKey("cn-hangzhou", creds.AccessKeyID, creds.AccessKeySecret)
//	client.Domain = lk.HTTPEndpoint()
//
// Start returns once the server answers /healthz, and the test's cleanup
// stops it, draining in-flight requests as SIGTERM would. The official,
// unmodified clients talk to it with only the endpoint changed (and, over
// HTTPS, CACertPool trusted). The package imports no cloud SDK: a test
// module builds only the clients it uses.
//
// Beside the cloud APIs a Server offers what tests check with: a fleet
// file applied through the internal API (WithFleet, ApplyFleet), fault
// rules (AddFault), any other internal API call (Admin), and
// CheckConsolePassword, which logs in to an instance's console through
// latchkey's VNC gateway exactly as a console client would.
package latchkeytest

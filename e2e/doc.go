// Package e2e runs the end-to-end test modules that cannot live in the
// main module. e2e/ehpc2018 needs alibaba-cloud-sdk-go v1.62.713 (the last
// release with E-HPC 2018-04-12) while the main module requires v1.63.107,
// and a module can require one version of a module; so it is a module of
// its own, and `go test ./...` at the root, which does not descend into
// nested modules, reaches it through TestNestedModules.
package e2e

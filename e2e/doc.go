// Package e2e runs the end-to-end suites that cannot live in the main
// module's packages.
//
// e2e/ehpc2018 needs alibaba-cloud-sdk-go v1.62.713 (the last release with
// E-HPC 2018-04-12) while the main module requires v1.63.107, and a module
// can require one version of a module; so it is a module of its own, and
// `go test ./...` at the root, which does not descend into nested modules,
// reaches it through TestNestedModules.
//
// e2e/node is the Node.js client suite: Alibaba's @alicloud/pop-core and
// @alicloud/ecs20140526, and Baidu's @baiducloud/sdk, at the versions its
// package-lock.json pins. TestNodeClients installs them with npm ci and
// runs the suite with node --test against a whole latchkey.
package e2e

// Package core holds latchkey's domain: identifiers, resources, the closed
// set of error kinds, and the interfaces of the store, the console drivers
// and the services that the protocol front ends call.
//
// core imports no transport and no provider package (no net/http, no
// aliyun, no bce): a test keeps it so. Front ends translate wire requests
// into the inputs defined here and render the outputs and errors in their
// own protocol.
package core

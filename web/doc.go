// Package web serves latchkey's browser pages: the console page at
// /console/, the offline counterpart of Alibaba Cloud's ECS VNC page. It
// takes the same query as that page (vncUrl, the VncUrl value that
// DescribeInstanceVncUrl returns; instanceId; isWindows), connects the
// vendored noVNC client to the console WebSocket named by vncUrl, asks for
// the VNC password in a form and renders the screen.
//
// Everything the page needs is embedded in the binary (static/): the page,
// its script and style sheet, and noVNC's core library as published on npm
// as @novnc/novnc (MPL-2.0; static/novnc/ keeps the package's license
// files). Nothing is built or fetched at run time.
package web

// Package sim is the built-in console driver: every instance's console is
// an RFB server inside latchkey that shows a rendered text screen and asks
// for the password the control plane last set. It needs no external
// program, so it is the default driver and the one the demo fleet uses.
package sim

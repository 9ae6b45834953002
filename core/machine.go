package core

import "context"

// MachineDriver is implemented by console drivers whose targets are
// machines that run (qemu, libvirt): the products have the machine follow
// the instance (PRODUCT.md §5). Each method returns an *Error of
// KindUnavailable when the machine or its host cannot be reached, and then
// the machine is as it was; the product then changes nothing either.
type MachineDriver interface {
	// StartMachine starts the target's machine, creating it first when it
	// does not exist yet. A running machine is left as it is.
	StartMachine(ctx context.Context, t ConsoleTarget) error
	// StopMachine stops the machine: gracefully (ACPI power button, then
	// a hard stop if the guest does not power off in time), or at once
	// when force is set. A stopped machine is left as it is.
	StopMachine(ctx context.Context, t ConsoleTarget, force bool) error
	// RebootMachine restarts the machine's guest: a reset when force is
	// set, a guest reboot otherwise. A stopped machine is started.
	RebootMachine(ctx context.Context, t ConsoleTarget, force bool) error
	// DeleteMachine stops the machine and removes it. A machine latchkey
	// did not create (adopted) is only forgotten: it is left as it is.
	DeleteMachine(ctx context.Context, t ConsoleTarget) error
}

// Package faults injects failures at the driver boundary: between the
// services and the consoles, guests and node agents they drive. A Rule
// says which calls it hits (a product, optionally one resource, optionally
// some operations), how often (the next N calls, a fraction of them, or
// every call) and what happens (the console is unreachable, the agent
// times out, a command fails, only some login nodes take a change, a
// service under the backend fails, the node service is unavailable or
// fails unexpectedly, or the call is delayed). The Injector keeps the rules in the store, so every
// replica that shares a store sees the same rules and a count is spent
// once across them.
//
// The Injector wraps drivers (ConsoleDriver, VisualDriver): a call that a
// failure rule hits returns the core error of that failure and never
// reaches the wrapped driver, so the backend keeps its state (the password
// that was live stays live) and the service, seeing the driver fail,
// changes nothing in the store. Each front end renders the core reason in
// its own words:
//
//	effect               core reason                ECS               E-HPC               BCC
//	unreachable          ConsoleUnreachable (1)     InstanceNotReady  AgentError          409, guest did not respond
//	agent-timeout        AgentTimeout               InstanceNotReady  AgentError          409, guest did not respond
//	exec-failure         ExecFailed                 InstanceNotReady  ExecFail            409, guest did not respond
//	partial-failure      (per node, E-HPC only)     —                 PartFailure         —
//	upstream-failure     UpstreamFailed             InstanceNotReady  AliyunError         409, guest did not respond
//	service-unavailable  none, KindUnavailable (2)  —                 ServiceUnavailable  —
//	internal-failure     none, KindInternal (2)     —                 UnknownError        —
//	latency              (delay, then the call)     —                 —                   —
//
// (1) For E-HPC the visual service is reached through the node's agent, so
// an unreachable node is an agent that does not answer: AgentTimeout.
// (2) E-HPC only: they are codes of E-HPC's error table (seed 004) that
// ECS and BCC have no counterpart for.
//
// Wrapped drivers must not be called inside a store transaction: the
// Injector reads and updates the store itself. No service does so (a
// driver call may take seconds, far too long to hold the store's writer).
package faults

// Package metrics counts what latchkey does, in the Prometheus text
// format at /metrics: API requests by product, action and result code with
// their latency, password changes by product and result, console
// connections and logins, authentication failures, VNC logins refused by
// the blacklist, and injected faults.
//
// A Metrics value owns its own registry (never the process-wide default),
// so several servers in one process, as in tests, keep separate counts.
// Front ends and the console gateway record through the small interfaces
// below, or through Middleware and SetOutcome; services are counted by
// wrapping them (ECS, …). No label ever holds a secret or a value taken
// from a request unchecked: actions are checked and bounded, and results
// are error codes or core reasons.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchkey/latchkey/console/blacklist"
)

// RequestRecorder records one API request: product ("ecs", "ehpc",
// "ram", "bcc", "latchkey"), action (the API action or operation;
// "unknown" when the request named none that exists), result code
// ("Success" or the provider's error code) and duration.
type RequestRecorder interface {
	ObserveRequest(product, action, code string, d time.Duration)
}

// PasswordRecorder records one password change: product and result
// ("Success" or the core reason it failed with).
type PasswordRecorder interface {
	PasswordChange(product, result string)
}

// ConsoleRecorder records console connections through the VNC gateway
// and the logins on them.
type ConsoleRecorder interface {
	// ConsoleConnection records a connection attempt: result "opened",
	// "refused" (the ticket was unknown, used or expired) or "failed"
	// (the console could not be reached). It returns the function to call
	// when an opened connection closes (a no-op otherwise).
	ConsoleConnection(product, result string) (closed func())
	// ConsoleLogin records one RFB authentication on a console.
	ConsoleLogin(product string, ok bool)
}

// AuthRecorder records a refused authentication: surface ("aliyun",
// "bce", "console", "internal") and reason (the error code, or a short
// fixed word).
type AuthRecorder interface {
	AuthFailure(surface, reason string)
}

// Metrics holds latchkey's collectors and their registry. It implements
// every recorder interface of this package and faults.Observer. The zero
// value is not usable; call New.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	passwords     *prometheus.CounterVec
	consoleConns  *prometheus.CounterVec
	consoleActive *prometheus.GaugeVec
	consoleLogins *prometheus.CounterVec
	authFailures  *prometheus.CounterVec
	vncRefused    *prometheus.CounterVec
	vncBlocked    *prometheus.CounterVec
	faults        *prometheus.CounterVec

	// labels bounds the distinct label values that come from outside
	// (actions, codes), so a client inventing actions cannot grow the
	// series without limit.
	labels *labelGuard
}

var (
	_ RequestRecorder  = (*Metrics)(nil)
	_ PasswordRecorder = (*Metrics)(nil)
	_ ConsoleRecorder  = (*Metrics)(nil)
	_ AuthRecorder     = (*Metrics)(nil)

	_ blacklist.Recorder = (*Metrics)(nil)
)

// New returns Metrics with every latchkey collector registered, plus the
// Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_requests_total",
			Help: "API requests by product, action and result code (Success or the provider's error code).",
		}, []string{"product", "action", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latchkey_request_duration_seconds",
			Help:    "Time to answer an API request, by product, action and result code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"product", "action", "code"}),
		passwords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_password_changes_total",
			Help: "Password changes by product (ecs: VNC, ehpc: visual service, bcc: guest administrator) and result (Success or the reason it failed).",
		}, []string{"product", "result"}),
		consoleConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_console_connections_total",
			Help: "Console connections through the VNC gateway by product and result (opened, refused, failed).",
		}, []string{"product", "result"}),
		consoleActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "latchkey_console_connections_active",
			Help: "Console connections open now, by product.",
		}, []string{"product"}),
		consoleLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_console_logins_total",
			Help: "RFB authentications on consoles by product and result (success, failure).",
		}, []string{"product", "result"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_auth_failures_total",
			Help: "Refused authentications by surface (aliyun, bce, console, internal) and reason.",
		}, []string{"surface", "reason"}),
		vncRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_vnc_blacklist_refused_total",
			Help: "VNC connections refused with \"Too many security failures\" because their source address failed to authenticate too often, by surface (gateway, visual).",
		}, []string{"surface"}),
		vncBlocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_vnc_blacklist_blocks_total",
			Help: "Times a source address was blocked after repeated VNC authentication failures, by surface (gateway, visual).",
		}, []string{"surface"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_faults_injected_total",
			Help: "Faults injected at the driver boundary by fault rules, by product and effect.",
		}, []string{"product", "effect"}),
		labels: newLabelGuard(maxLabelValues),
	}
	m.reg.MustRegister(m.requests, m.duration, m.passwords, m.consoleConns, m.consoleActive,
		m.consoleLogins, m.authFailures, m.vncRefused, m.vncBlocked, m.faults,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// CommitStats is a store that counts its group commits.
type CommitStats interface {
	CommitStats() (commits, updates int64)
}

// ObserveCommits exports st's group commits: batch transactions committed
// and the Updates they carried, whose ratio is the average batch.
func (m *Metrics) ObserveCommits(st CommitStats) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "latchkey_store_commits_total",
			Help: "Transactions the store committed; each carries one or more Updates (group commit).",
		}, func() float64 { c, _ := st.CommitStats(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "latchkey_store_committed_updates_total",
			Help: "Updates the store's committed transactions carried; divided by latchkey_store_commits_total, the average batch.",
		}, func() float64 { _, u := st.CommitStats(); return float64(u) }),
	)
}

// Registry returns the registry, for registering more collectors and for
// tests that gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (or in a
// format the scraper's Accept header asks for).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest implements RequestRecorder.
func (m *Metrics) ObserveRequest(product, action, code string, d time.Duration) {
	product = m.labels.value("product", product)
	action = m.labels.value("action/"+product, action)
	code = m.labels.value("code/"+product, code)
	m.requests.WithLabelValues(product, action, code).Inc()
	m.duration.WithLabelValues(product, action, code).Observe(d.Seconds())
	if surface, reason, ok := authFailureCode(product, code); ok {
		m.AuthFailure(surface, reason)
	}
}

// PasswordChange implements PasswordRecorder.
func (m *Metrics) PasswordChange(product, result string) {
	m.passwords.WithLabelValues(m.labels.value("product", product), m.labels.value("result", result)).Inc()
}

// ConsoleConnection implements ConsoleRecorder.
func (m *Metrics) ConsoleConnection(product, result string) func() {
	product = m.labels.value("product", product)
	m.consoleConns.WithLabelValues(product, m.labels.value("result", result)).Inc()
	if result != "opened" {
		return func() {}
	}
	g := m.consoleActive.WithLabelValues(product)
	g.Inc()
	var once sync.Once
	return func() { once.Do(g.Dec) }
}

// ConsoleLogin implements ConsoleRecorder. A failed login is also an
// authentication failure of the console surface.
func (m *Metrics) ConsoleLogin(product string, ok bool) {
	result := "success"
	if !ok {
		result = "failure"
		m.AuthFailure("console", "vnc-auth")
	}
	m.consoleLogins.WithLabelValues(m.labels.value("product", product), result).Inc()
}

// AuthFailure implements AuthRecorder.
func (m *Metrics) AuthFailure(surface, reason string) {
	m.authFailures.WithLabelValues(m.labels.value("surface", surface), m.labels.value("reason", reason)).Inc()
}

// VNCRefused implements blacklist.Recorder.
func (m *Metrics) VNCRefused(surface string) {
	m.vncRefused.WithLabelValues(m.labels.value("surface", surface)).Inc()
}

// VNCBlacklisted implements blacklist.Recorder.
func (m *Metrics) VNCBlacklisted(surface string) {
	m.vncBlocked.WithLabelValues(m.labels.value("surface", surface)).Inc()
}

// FaultInjected implements faults.Observer.
func (m *Metrics) FaultInjected(product string, effect string) {
	m.faults.WithLabelValues(m.labels.value("product", product), m.labels.value("effect", effect)).Inc()
}

// authFailureCode reports whether code is an authentication failure of a
// product's API, and under which surface it is counted.
func authFailureCode(product, code string) (surface, reason string, ok bool) {
	switch product {
	case "ecs", "ehpc", "ram", "aliyun":
		switch code {
		case "IncompleteSignature", "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound",
			"InvalidAccessKeyId.Inactive", "SignatureNonceUsed", "InvalidTimeStamp.Expired",
			"InvalidTimeStamp.Format", "InvalidSignatureMethod", "InvalidSecurityToken.Malformed":
			return "aliyun", code, true
		}
	case "bcc", "bce":
		switch code {
		case "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidHTTPAuthHeader", "RequestExpired":
			return "bce", code, true
		}
	}
	return "", "", false
}

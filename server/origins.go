package server

import (
	"net"
	"net/netip"
)

// ownOrigins are the origins of latchkey's own pages (the console page,
// web.ConsolePath) on both listeners: the console WebSocket admits
// browser requests from these and from the listener it is reached on. A
// loopback listener is also reached as localhost, 127.0.0.1 and [::1]
// (the names its certificate holds), so the page may be loaded under any
// of them while the console URL names the endpoint's address.
func ownOrigins(eps Endpoints) []string {
	var out []string
	add := func(scheme, hostport string) {
		if hostport == "" {
			return
		}
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return
		}
		hosts := []string{host}
		if ip, err := netip.ParseAddr(host); host == "localhost" || err == nil && ip.IsLoopback() {
			for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
				if h != host {
					hosts = append(hosts, h)
				}
			}
		}
		for _, h := range hosts {
			out = append(out, scheme+"://"+net.JoinHostPort(h, port))
		}
	}
	add("https", eps.HTTPS)
	add("http", eps.HTTP)
	return out
}

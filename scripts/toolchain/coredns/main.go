// The local node's cluster DNS: CoreDNS with only the plugins a cluster's
// Service names need (CoreDNS's documented way of choosing plugins at build
// time: set the server's directive list before running its main).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order in which the plugins see a query, as in CoreDNS's plugin.cfg.
var directives = []string{"errors", "health", "ready", "kubernetes", "cache"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }

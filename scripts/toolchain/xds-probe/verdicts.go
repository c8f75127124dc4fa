package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
)

// callersFile names who may call: the mesh's trust domain and, per namespace, its service accounts.
type callersFile struct {
	TrustDomain        string              `json:"trustDomain"`
	ForeignTrustDomain string              `json:"foreignTrustDomain"`
	ServiceAccounts    map[string][]string `json:"serviceAccounts"`
}

type callerVerdict struct {
	Caller    string `json:"caller"`
	Namespace string `json:"namespace,omitempty"`
	Admitted  bool   `json:"admitted"`
	// Inbound ports on which some request gets through; "other" for ports without a chain of their own.
	Ports []string `json:"ports"`
	// The first admitted request found and what let it through, or why nothing did.
	Why string `json:"why"`
}

type namespaceVerdict struct {
	// Some request from the namespace gets through: over mTLS with one of its identities, or in plaintext.
	Admitted bool `json:"admitted"`
	// With an identity of the namespace (any service account name, existing or not).
	Mutual bool   `json:"mutual"`
	Via    string `json:"via"`
	// With the namespace's name under another trust domain.
	ForeignTrustDomain bool `json:"foreignTrustDomain"`
}

type verdicts struct {
	TrustDomain string `json:"trustDomain"`
	// By inbound port ("other": ports without a chain of their own): STRICT (only mTLS chains), PERMISSIVE, DISABLE.
	MTLS       map[string]string           `json:"mtls"`
	Callers    []callerVerdict             `json:"callers"`
	Plaintext  callerVerdict               `json:"plaintext"`
	Namespaces map[string]namespaceVerdict `json:"namespaces"`
	// Questions the evaluator could not answer (a matcher it does not know, too many candidate requests).
	Undecided []string `json:"undecided"`
}

func readCallers(file string) (*callersFile, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var c callersFile
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if c.TrustDomain == "" {
		c.TrustDomain = "cluster.local"
	}
	if c.ForeignTrustDomain == "" {
		c.ForeignTrustDomain = "foreign.example"
	}
	return &c, nil
}

type judge struct {
	chains []inboundChain
	dest   netip.Addr
	// Ports with chains of their own, and one without (its connections take the passthrough chains).
	ports []uint32
	other uint32
	// Per chain, the values worth trying; all of them for account names.
	perChain map[string]*witnesses
	all      *witnesses
}

func newJudge(chains []inboundChain, dest netip.Addr) *judge {
	j := &judge{chains: chains, dest: dest, perChain: map[string]*witnesses{}, all: newWitnesses()}
	own := map[uint32]bool{}
	for _, c := range chains {
		if c.Port != 0 && !own[c.Port] && !c.Blackhole {
			own[c.Port] = true
			j.ports = append(j.ports, c.Port)
		}
		w := newWitnesses()
		for _, f := range c.RBAC {
			w.rbac(f.rules)
			j.all.rbac(f.rules)
		}
		j.perChain[c.Name] = w
	}
	sort.Slice(j.ports, func(a, b int) bool { return j.ports[a] < j.ports[b] })
	for j.other = 65431; own[j.other]; j.other++ {
	}
	return j
}

func portName(p uint32) string {
	if p == 0 {
		return "other"
	}
	return strconv.Itoa(int(p))
}

// passthroughPorts: the ports a connection can take to the chains without a port (every port without its own chain).
func (j *judge) passthroughPorts(w *witnesses) []uint32 {
	own := map[uint32]bool{}
	for _, p := range j.ports {
		own[p] = true
	}
	out := []uint32{j.other}
	for p := range w.ports {
		if !own[p] && p != j.other {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// caller judges one caller (principal "" for plaintext) on every port: where some request gets through, and why.
func (j *judge) caller(principal string) (ports []string, why string, err error) {
	mtls := principal != ""
	var refusals []string
	for _, port := range append(append([]uint32{}, j.ports...), 0) {
		selectPort := port
		if port == 0 {
			selectPort = j.other
		}
		chains := selectChains(j.chains, selectPort, mtls, j.dest)
		if len(chains) == 0 {
			refusals = append(refusals, fmt.Sprintf("port %s: no filter chain takes a %s connection", portName(port), transportName(mtls)))
			continue
		}
		admitted := false
		for _, c := range chains {
			if (c.MutualTLS && !mtls) || c.Blackhole {
				continue
			}
			peer := ""
			if c.MutualTLS {
				peer = principal
			}
			w := j.perChain[c.Name]
			candidates := []uint32{selectPort}
			if c.Port == 0 {
				candidates = j.passthroughPorts(w)
			}
			ok, reason, err := someRequestAdmitted(c, w, peer, candidates, j.dest)
			if err != nil {
				return nil, "", err
			}
			if ok {
				admitted = true
				if why == "" {
					why = fmt.Sprintf("%s: %s", describeChain(c), reason)
				}
				break
			}
		}
		if admitted {
			ports = append(ports, portName(port))
		} else {
			refusals = append(refusals, fmt.Sprintf("port %s: refused", portName(port)))
		}
	}
	if why == "" {
		why = fmt.Sprint(refusals)
	}
	return ports, why, nil
}

func transportName(mtls bool) string {
	if mtls {
		return "mTLS"
	}
	return "plaintext"
}

func spiffe(td, ns, sa string) string {
	return fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", td, ns, sa)
}

func (j *judge) verdicts(callers *callersFile) *verdicts {
	v := &verdicts{TrustDomain: callers.TrustDomain, MTLS: map[string]string{}, Callers: []callerVerdict{}, Namespaces: map[string]namespaceVerdict{}, Undecided: []string{}}
	for _, port := range append(append([]uint32{}, j.ports...), 0) {
		p := port
		if p == 0 {
			p = j.other
		}
		plain := selectChains(j.chains, p, false, j.dest)
		mutual := false
		for _, c := range selectChains(j.chains, p, true, j.dest) {
			mutual = mutual || c.MutualTLS
		}
		switch {
		case len(plain) == 0:
			v.MTLS[portName(port)] = "STRICT"
		case !mutual:
			v.MTLS[portName(port)] = "DISABLE"
		default:
			v.MTLS[portName(port)] = "PERMISSIVE"
		}
	}
	one := func(caller, ns, principal string) callerVerdict {
		ports, why, err := j.caller(principal)
		if err != nil {
			v.Undecided = append(v.Undecided, fmt.Sprintf("%s: %v", caller, err))
			why = err.Error()
		}
		if ports == nil {
			ports = []string{}
		}
		return callerVerdict{Caller: caller, Namespace: ns, Admitted: len(ports) > 0, Ports: ports, Why: why}
	}
	v.Plaintext = one("plaintext", "", "")
	namespaces := make([]string, 0, len(callers.ServiceAccounts))
	for ns := range callers.ServiceAccounts {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		for _, sa := range callers.ServiceAccounts[ns] {
			id := spiffe(callers.TrustDomain, ns, sa)
			v.Callers = append(v.Callers, one(id, ns, id))
		}
		nv := namespaceVerdict{}
		for _, sa := range j.all.accounts(spiffe(callers.TrustDomain, ns, ""), callers.ServiceAccounts[ns]) {
			id := spiffe(callers.TrustDomain, ns, sa)
			if c := one(id, ns, id); c.Admitted {
				nv.Mutual, nv.Via = true, fmt.Sprintf("%s on ports %v: %s", id, c.Ports, c.Why)
				break
			}
		}
		foreign := spiffe(callers.ForeignTrustDomain, ns, "default")
		nv.ForeignTrustDomain = one(foreign, ns, foreign).Admitted
		nv.Admitted = nv.Mutual || v.Plaintext.Admitted
		if !nv.Mutual && v.Plaintext.Admitted {
			nv.Via = "plaintext: " + v.Plaintext.Why
		}
		v.Namespaces[ns] = nv
	}
	return v
}

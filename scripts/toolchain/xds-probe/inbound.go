package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacconfig "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	httprbac "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	netrbac "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	tcpproxy "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tls "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The listener on which a sidecar receives every inbound connection (iptables sends them to 15006); istiod puts one
// filter chain per inbound port and transport on it, plus the passthrough chains for ports no Service declares.
const virtualInbound = "virtualInbound"

const (
	networkRBACFilter = "envoy.filters.network.rbac"
	httpRBACFilter    = "envoy.filters.http.rbac"
	extAuthzNetwork   = "envoy.filters.network.ext_authz"
	extAuthzHTTP      = "envoy.filters.http.ext_authz"
	tcpProxyFilter    = "envoy.filters.network.tcp_proxy"
	blackholeCluster  = "BlackHoleCluster"
)

// rbacFilter is one RBAC filter of a chain, in the order the chain runs them: its enforced rules and its shadow
// rules (what dry-run and AUDIT policies compile to), as protos for the evaluator and as JSON for the reader.
type rbacFilter struct {
	Layer       string          `json:"layer"` // network or http
	Rules       json.RawMessage `json:"rules,omitempty"`
	ShadowRules json.RawMessage `json:"shadowRules,omitempty"`
	// The unified matcher API, which Istio does not generate; present means the evaluator cannot judge the chain.
	HasMatcher bool `json:"hasMatcher,omitempty"`

	rules  *rbacconfig.RBAC
	shadow *rbacconfig.RBAC
}

type inboundChain struct {
	Name string `json:"name"`
	// 0: no destination port in the match (the passthrough chains).
	Port uint32 `json:"port"`
	// "tls", "raw_buffer" or "" (either), from the filter chain match.
	Transport            string   `json:"transport"`
	ApplicationProtocols []string `json:"applicationProtocols,omitempty"`
	PrefixRanges         []string `json:"prefixRanges,omitempty"`
	// Whether the chain terminates TLS and requires a client certificate (mTLS).
	MutualTLS bool `json:"mutualTls"`
	HTTP      bool `json:"http"`
	// The chain ends in istiod's BlackHoleCluster (its own port, 15006): nothing it takes reaches the workload.
	Blackhole bool         `json:"blackhole,omitempty"`
	RBAC      []rbacFilter `json:"rbac"`
	// External authorizers (CUSTOM policies): they can only refuse more, so the evaluator lets requests past them.
	ExtAuthz []string `json:"extAuthz,omitempty"`
}

type inboundResult struct {
	Node      string            `json:"node"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
	Listeners []string          `json:"listeners"`
	Chains    []inboundChain    `json:"chains"`
	Verdicts  *verdicts         `json:"verdicts,omitempty"`
	Seconds   float64           `json:"seconds"`
}

// inbound asks for LDS and reads the virtualInbound listener's filter chains.
func (p *prober) inbound() *inboundResult {
	p.send(&discovery.DiscoveryRequest{TypeUrl: typeLDS})
	lds := p.recv(typeLDS)
	res := &inboundResult{Node: p.node.Id, Namespace: p.node.Metadata.Fields["NAMESPACE"].GetStringValue(), Labels: map[string]string{}, Listeners: []string{}, Chains: []inboundChain{}}
	for k, v := range p.node.Metadata.Fields["LABELS"].GetStructValue().GetFields() {
		res.Labels[k] = v.GetStringValue()
	}
	for _, r := range lds.Resources {
		var l listener.Listener
		if err := r.UnmarshalTo(&l); err != nil {
			fail("decode listener: %v", err)
		}
		res.Listeners = append(res.Listeners, l.Name)
		if l.Name != virtualInbound {
			continue
		}
		for _, fc := range l.FilterChains {
			c, err := readChain(fc)
			if err != nil {
				fail("listener %s chain %s: %v", l.Name, fc.Name, err)
			}
			res.Chains = append(res.Chains, c)
		}
	}
	sort.Strings(res.Listeners)
	return res
}

func readChain(fc *listener.FilterChain) (inboundChain, error) {
	m := fc.GetFilterChainMatch()
	c := inboundChain{Name: fc.Name, Port: m.GetDestinationPort().GetValue(), Transport: m.GetTransportProtocol(), ApplicationProtocols: m.GetApplicationProtocols(), RBAC: []rbacFilter{}}
	for _, pr := range m.GetPrefixRanges() {
		c.PrefixRanges = append(c.PrefixRanges, fmt.Sprintf("%s/%d", pr.GetAddressPrefix(), pr.GetPrefixLen().GetValue()))
	}
	if ts := fc.GetTransportSocket(); ts != nil && ts.GetTypedConfig() != nil {
		var ctx tls.DownstreamTlsContext
		if ts.GetTypedConfig().MessageIs(&ctx) {
			if err := ts.GetTypedConfig().UnmarshalTo(&ctx); err != nil {
				return c, fmt.Errorf("decode DownstreamTlsContext: %v", err)
			}
			c.MutualTLS = ctx.GetRequireClientCertificate().GetValue()
		}
	}
	for _, f := range fc.Filters {
		switch f.Name {
		case networkRBACFilter:
			var r netrbac.RBAC
			if err := unmarshal(f.GetTypedConfig(), &r); err != nil {
				return c, err
			}
			rf, err := newRBACFilter("network", r.GetRules(), r.GetShadowRules(), r.GetMatcher() != nil || r.GetShadowMatcher() != nil)
			if err != nil {
				return c, err
			}
			c.RBAC = append(c.RBAC, rf)
		case extAuthzNetwork:
			c.ExtAuthz = append(c.ExtAuthz, f.Name)
		case tcpProxyFilter:
			var t tcpproxy.TcpProxy
			if err := unmarshal(f.GetTypedConfig(), &t); err != nil {
				return c, err
			}
			c.Blackhole = t.GetCluster() == blackholeCluster
		}
		tc := f.GetTypedConfig()
		if tc == nil || !tc.MessageIs(&hcm.HttpConnectionManager{}) {
			continue
		}
		c.HTTP = true
		var h hcm.HttpConnectionManager
		if err := tc.UnmarshalTo(&h); err != nil {
			return c, fmt.Errorf("decode http_connection_manager: %v", err)
		}
		for _, hf := range h.HttpFilters {
			switch hf.Name {
			case httpRBACFilter:
				var r httprbac.RBAC
				if err := unmarshal(hf.GetTypedConfig(), &r); err != nil {
					return c, err
				}
				rf, err := newRBACFilter("http", r.GetRules(), r.GetShadowRules(), r.GetMatcher() != nil || r.GetShadowMatcher() != nil)
				if err != nil {
					return c, err
				}
				c.RBAC = append(c.RBAC, rf)
			case extAuthzHTTP:
				c.ExtAuthz = append(c.ExtAuthz, hf.Name)
			}
		}
	}
	return c, nil
}

func unmarshal(a *anypb.Any, into proto.Message) error {
	if a == nil {
		return fmt.Errorf("filter without typed_config")
	}
	return a.UnmarshalTo(into)
}

func newRBACFilter(layer string, rules, shadow *rbacconfig.RBAC, matcher bool) (rbacFilter, error) {
	f := rbacFilter{Layer: layer, rules: rules, shadow: shadow, HasMatcher: matcher}
	var err error
	if rules != nil {
		if f.Rules, err = protojson.Marshal(rules); err != nil {
			return f, err
		}
	}
	if shadow != nil {
		if f.ShadowRules, err = protojson.Marshal(shadow); err != nil {
			return f, err
		}
	}
	return f, nil
}

func describeChain(c inboundChain) string {
	port := "any port"
	if c.Port != 0 {
		port = fmt.Sprintf("port %d", c.Port)
	}
	t := c.Transport
	if t == "" {
		t = "any transport"
	}
	return fmt.Sprintf("%s (%s, %s%s)", c.Name, port, t, strings.Join(append([]string{""}, c.ApplicationProtocols...), " "))
}

package main

import (
	"net/netip"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rbacconfig "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func regexPrincipal(expr string) *rbacconfig.Principal {
	return &rbacconfig.Principal{Identifier: &rbacconfig.Principal_Authenticated_{Authenticated: &rbacconfig.Principal_Authenticated{
		PrincipalName: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: expr}}},
	}}}
}

func exactPrincipal(p string) *rbacconfig.Principal {
	return &rbacconfig.Principal{Identifier: &rbacconfig.Principal_Authenticated_{Authenticated: &rbacconfig.Principal_Authenticated{
		PrincipalName: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: p}},
	}}}
}

func notID(p *rbacconfig.Principal) *rbacconfig.Principal {
	return &rbacconfig.Principal{Identifier: &rbacconfig.Principal_NotId{NotId: p}}
}

func anyPermission() *rbacconfig.Permission {
	return &rbacconfig.Permission{Rule: &rbacconfig.Permission_Any{Any: true}}
}

func portPermission(p uint32) *rbacconfig.Permission {
	return &rbacconfig.Permission{Rule: &rbacconfig.Permission_DestinationPort{DestinationPort: p}}
}

func pathPermission(prefix string) *rbacconfig.Permission {
	return &rbacconfig.Permission{Rule: &rbacconfig.Permission_UrlPath{UrlPath: &matcher.PathMatcher{Rule: &matcher.PathMatcher_Path{Path: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Prefix{Prefix: prefix}}}}}}
}

func ipPrincipal(cidr string, bits uint32) *rbacconfig.Principal {
	return &rbacconfig.Principal{Identifier: &rbacconfig.Principal_DirectRemoteIp{DirectRemoteIp: &core.CidrRange{AddressPrefix: cidr, PrefixLen: wrapperspb.UInt32(bits)}}}
}

func rbacOf(action rbacconfig.RBAC_Action, policies map[string]*rbacconfig.Policy) *rbacconfig.RBAC {
	return &rbacconfig.RBAC{Action: action, Policies: policies}
}

func policy(perms []*rbacconfig.Permission, ids ...*rbacconfig.Principal) *rbacconfig.Policy {
	return &rbacconfig.Policy{Permissions: perms, Principals: ids}
}

var dest = netip.MustParseAddr("10.1.0.1")

// strictChains: one port, mTLS only, with the given RBAC filters (HTTP); and the passthrough chains likewise.
func strictChains(filters ...rbacFilter) []inboundChain {
	return []inboundChain{
		{Name: "0.0.0.0_8080", Port: 8080, Transport: "tls", MutualTLS: true, HTTP: true, RBAC: filters},
		{Name: "virtualInbound", Transport: "tls", MutualTLS: true, RBAC: filters},
	}
}

func verdictsFor(t *testing.T, chains []inboundChain, accounts map[string][]string) *verdicts {
	t.Helper()
	v := newJudge(chains, dest).verdicts(&callersFile{TrustDomain: "cluster.local", ForeignTrustDomain: "foreign.example", ServiceAccounts: accounts})
	if len(v.Undecided) > 0 {
		t.Fatalf("undecided: %v", v.Undecided)
	}
	return v
}

func admittedNamespaces(v *verdicts) string {
	var out []string
	for _, ns := range []string{"a", "b", "c"} {
		if v.Namespaces[ns].Admitted {
			out = append(out, ns)
		}
	}
	return strings.Join(out, ",")
}

var threeNamespaces = map[string][]string{"a": {"default"}, "b": {"default"}, "c": {"default", "api"}}

func TestNoRBACAdmitsEveryone(t *testing.T) {
	v := verdictsFor(t, strictChains(), threeNamespaces)
	if got := admittedNamespaces(v); got != "a,b,c" {
		t.Fatalf("admitted %q", got)
	}
	if v.Plaintext.Admitted || v.MTLS["8080"] != "STRICT" {
		t.Fatalf("STRICT chains: plaintext %v, mode %v", v.Plaintext, v.MTLS)
	}
	if !v.Namespaces["a"].ForeignTrustDomain {
		t.Fatal("nothing checks the trust domain without RBAC")
	}
}

func TestAllowByNamespaceRegex(t *testing.T) {
	allow := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"ns[a]-policy[p]-rule[0]": policy([]*rbacconfig.Permission{anyPermission()}, regexPrincipal(`.*/ns/a/.*`))})}
	v := verdictsFor(t, strictChains(allow), threeNamespaces)
	if got := admittedNamespaces(v); got != "a" {
		t.Fatalf("admitted %q", got)
	}
	// The regex Istio writes for a namespace does not look at the trust domain.
	if !v.Namespaces["a"].ForeignTrustDomain || v.Namespaces["b"].ForeignTrustDomain {
		t.Fatalf("foreign trust domain: %+v", v.Namespaces)
	}
}

func TestAllowWithoutPoliciesRefusesAll(t *testing.T) {
	v := verdictsFor(t, strictChains(rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, nil)}), threeNamespaces)
	if got := admittedNamespaces(v); got != "" {
		t.Fatalf("admitted %q", got)
	}
}

func TestShadowRulesDoNotEnforce(t *testing.T) {
	deny := rbacOf(rbacconfig.RBAC_DENY, map[string]*rbacconfig.Policy{"p": policy([]*rbacconfig.Permission{anyPermission()}, &rbacconfig.Principal{Identifier: &rbacconfig.Principal_Any{Any: true}})})
	v := verdictsFor(t, strictChains(rbacFilter{Layer: "http", shadow: deny}), threeNamespaces)
	if got := admittedNamespaces(v); got != "a,b,c" {
		t.Fatalf("admitted %q", got)
	}
	v = verdictsFor(t, strictChains(rbacFilter{Layer: "http", rules: deny}), threeNamespaces)
	if got := admittedNamespaces(v); got != "" {
		t.Fatalf("enforced DENY: admitted %q", got)
	}
}

func TestDenyThenAllowInChainOrder(t *testing.T) {
	deny := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_DENY, map[string]*rbacconfig.Policy{"d": policy([]*rbacconfig.Permission{anyPermission()}, regexPrincipal(`.*/ns/b/.*`))})}
	allow := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"a": policy([]*rbacconfig.Permission{anyPermission()}, notID(regexPrincipal(`.*/ns/c/.*`)))})}
	v := verdictsFor(t, strictChains(deny, allow), threeNamespaces)
	if got := admittedNamespaces(v); got != "a" {
		t.Fatalf("admitted %q", got)
	}
}

// A DENY narrowed to a path leaves other paths open; an ALLOW narrowed to the same path then admits nothing.
func TestRequestAttributesAreSearched(t *testing.T) {
	deny := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_DENY, map[string]*rbacconfig.Policy{"d": policy([]*rbacconfig.Permission{pathPermission("/admin")}, regexPrincipal(`.*/ns/b/.*`))})}
	v := verdictsFor(t, strictChains(deny), threeNamespaces)
	if got := admittedNamespaces(v); got != "a,b,c" {
		t.Fatalf("DENY on /admin: admitted %q", got)
	}
	allow := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"a": policy([]*rbacconfig.Permission{pathPermission("/admin")}, regexPrincipal(`.*/ns/(b|c)/.*`))})}
	v = verdictsFor(t, strictChains(deny, allow), threeNamespaces)
	if got := admittedNamespaces(v); got != "c" {
		t.Fatalf("DENY and ALLOW on /admin: admitted %q", got)
	}
}

func TestPortsAndAddresses(t *testing.T) {
	allow := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{
		"port": policy([]*rbacconfig.Permission{portPermission(9090)}, exactPrincipal("spiffe://cluster.local/ns/c/sa/api")),
		"ip":   policy([]*rbacconfig.Permission{anyPermission()}, &rbacconfig.Principal{Identifier: &rbacconfig.Principal_AndIds{AndIds: &rbacconfig.Principal_Set{Ids: []*rbacconfig.Principal{regexPrincipal(`.*/ns/a/.*`), ipPrincipal("10.8.0.0", 16)}}}}),
	})}
	v := verdictsFor(t, strictChains(allow), threeNamespaces)
	if got := admittedNamespaces(v); got != "a,c" {
		t.Fatalf("admitted %q", got)
	}
	for _, c := range v.Callers {
		want := map[string]string{"spiffe://cluster.local/ns/c/sa/api": "other", "spiffe://cluster.local/ns/a/sa/default": "8080,other"}[c.Caller]
		if got := strings.Join(c.Ports, ","); got != want {
			t.Errorf("%s: ports %q, want %q", c.Caller, got, want)
		}
	}
}

// An account that does not exist yet but that a principal names still admits its namespace.
func TestAccountsNamedByPolicies(t *testing.T) {
	allow := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"p": policy([]*rbacconfig.Permission{anyPermission()}, exactPrincipal("spiffe://cluster.local/ns/b/sa/reporter"))})}
	v := verdictsFor(t, strictChains(allow), threeNamespaces)
	if got := admittedNamespaces(v); got != "b" {
		t.Fatalf("admitted %q", got)
	}
	if v.Callers[1].Admitted {
		t.Fatalf("b's default account: %+v", v.Callers[1])
	}
}

func TestPermissiveChainsTakePlaintext(t *testing.T) {
	allow := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"p": policy([]*rbacconfig.Permission{anyPermission()}, regexPrincipal(`.*/ns/a/.*`))})}
	deny := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_DENY, map[string]*rbacconfig.Policy{"p": policy([]*rbacconfig.Permission{anyPermission()}, regexPrincipal(`.*/ns/b/.*`))})}
	chains := func(f rbacFilter) []inboundChain {
		return []inboundChain{
			{Name: "tls", Port: 8080, Transport: "tls", MutualTLS: true, HTTP: true, RBAC: []rbacFilter{f}},
			{Name: "plain", Port: 8080, Transport: "raw_buffer", HTTP: true, RBAC: []rbacFilter{f}},
		}
	}
	v := verdictsFor(t, chains(allow), threeNamespaces)
	if v.MTLS["8080"] != "PERMISSIVE" || v.Plaintext.Admitted || admittedNamespaces(v) != "a" {
		t.Fatalf("ALLOW a under PERMISSIVE: %v, plaintext %+v, admitted %q", v.MTLS, v.Plaintext, admittedNamespaces(v))
	}
	// A plaintext request has no principal for the DENY to match.
	v = verdictsFor(t, chains(deny), threeNamespaces)
	if !v.Plaintext.Admitted || admittedNamespaces(v) != "a,b,c" || v.Namespaces["b"].Mutual {
		t.Fatalf("DENY b under PERMISSIVE: plaintext %+v, namespaces %+v", v.Plaintext, v.Namespaces)
	}
}

func TestUnknownMatcherIsUndecided(t *testing.T) {
	cel := &rbacconfig.Policy{Permissions: []*rbacconfig.Permission{anyPermission()}, Principals: []*rbacconfig.Principal{{Identifier: &rbacconfig.Principal_Any{Any: true}}}, Condition: nil, CheckedCondition: nil}
	f := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"p": cel}), HasMatcher: true}
	v := newJudge(strictChains(f), dest).verdicts(&callersFile{TrustDomain: "cluster.local", ServiceAccounts: threeNamespaces})
	if len(v.Undecided) == 0 {
		t.Fatal("the matcher API is not evaluated: the verdict must say so")
	}
}

// istiod's chain for its own port 15006 ends in the BlackHoleCluster: no caller reaches the workload through it.
func TestBlackholeChainAdmitsNobody(t *testing.T) {
	chains := []inboundChain{{Name: "virtualInbound-blackhole", Port: 15006, Blackhole: true}}
	v := verdictsFor(t, chains, threeNamespaces)
	if got := admittedNamespaces(v); got != "" || v.Plaintext.Admitted {
		t.Fatalf("admitted %q, plaintext %+v", got, v.Plaintext)
	}
}

// istiod writes `requestPrincipals: ["*"]` as a regular expression on the token's principal in the request metadata.
func TestRequestPrincipalRegex(t *testing.T) {
	token := &rbacconfig.Principal{Identifier: &rbacconfig.Principal_Metadata{Metadata: &matcher.MetadataMatcher{
		Filter: "istio_authn",
		Path:   []*matcher.MetadataMatcher_PathSegment{{Segment: &matcher.MetadataMatcher_PathSegment_Key{Key: "request.auth.principal"}}},
		Value:  &matcher.ValueMatcher{MatchPattern: &matcher.ValueMatcher_StringMatch{StringMatch: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: ".+"}}}}},
	}}}
	both := &rbacconfig.Principal{Identifier: &rbacconfig.Principal_AndIds{AndIds: &rbacconfig.Principal_Set{Ids: []*rbacconfig.Principal{regexPrincipal(`.*/ns/b/.*`), token}}}}
	allow := rbacFilter{Layer: "http", rules: rbacOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"p": policy([]*rbacconfig.Permission{anyPermission()}, both)})}
	v := verdictsFor(t, strictChains(allow), threeNamespaces)
	if got := admittedNamespaces(v); got != "b" {
		t.Fatalf("admitted %q", got)
	}
	if w, ok := regexWitness(`.*/ns/b/.*`); !ok || !strings.Contains(w, "/ns/b/") {
		t.Fatalf("witness %q, %v", w, ok)
	}
}

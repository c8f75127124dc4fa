package main

// An evaluator of Envoy's RBAC filters for the matchers istiod generates, following Envoy's documented semantics
// (envoy.config.rbac.v3): a policy matches when one of its permissions and one of its principals match; ALLOW rules
// let through what some policy matches and refuse the rest (so an ALLOW with no policy refuses everything), DENY
// refuses what some policy matches, LOG refuses nothing, and shadow rules are only counted. A chain's RBAC filters run
// in order (network filters before the HTTP connection manager's) and every one must let the request through.
//
// It is written here rather than reused: Envoy's matchers are C++, and grpc-go's RBAC engine
// (google.golang.org/grpc/internal/xds/rbac) is an internal package that no other module can import. It reads the
// go-control-plane protos istiod sent, so no field is lost in translation; any matcher it does not know makes the
// verdict undecided rather than guessed.
//
// Whether *some* request of a caller gets through is a question over every path, header, port, address and token a
// caller could send. It is answered by search over witnesses: for each attribute the RBAC looks at, the literals the
// matchers name, each with a variant that just misses it, and one value none names. A string matcher in Istio's
// output (exact, prefix, suffix, contains; regular expressions only for principals and namespaces) changes its answer
// only at those literals, so trying them decides every combination of such conditions.

import (
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rbacconfig "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// request is one connection or HTTP request as the RBAC filters see it.
type request struct {
	// URI SAN of the peer's certificate; empty without mutual TLS.
	principal  string
	sourceIP   netip.Addr
	destIP     netip.Addr
	port       uint32
	serverName string
	path       string
	headers    map[string]string          // lower-case names; a missing name is a missing header
	metadata   map[string]*structpb.Value // by filter + "\x00" + dotted path
	http       bool
}

type unsupported struct{ what string }

func (u unsupported) Error() string { return "unsupported matcher: " + u.what }

func stringMatches(m *matcher.StringMatcher, s string) (bool, error) {
	if m == nil {
		return true, nil
	}
	value, lit := s, ""
	switch p := m.MatchPattern.(type) {
	case *matcher.StringMatcher_Exact:
		lit = p.Exact
	case *matcher.StringMatcher_Prefix:
		lit = p.Prefix
	case *matcher.StringMatcher_Suffix:
		lit = p.Suffix
	case *matcher.StringMatcher_Contains:
		lit = p.Contains
	case *matcher.StringMatcher_SafeRegex:
		re, err := compileRegex(p.SafeRegex.GetRegex())
		if err != nil {
			return false, err
		}
		return re.MatchString(s), nil
	default:
		return false, unsupported{fmt.Sprintf("string matcher %T", m.MatchPattern)}
	}
	if m.IgnoreCase {
		value, lit = strings.ToLower(value), strings.ToLower(lit)
	}
	switch m.MatchPattern.(type) {
	case *matcher.StringMatcher_Exact:
		return value == lit, nil
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(value, lit), nil
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(value, lit), nil
	default:
		return strings.Contains(value, lit), nil
	}
}

var regexes = map[string]*regexp.Regexp{}

// compileRegex: Envoy's safe_regex is RE2 and must match the whole value; Go's regexp is RE2 too.
func compileRegex(expr string) (*regexp.Regexp, error) {
	if re, ok := regexes[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile("^(?:" + expr + ")$")
	if err != nil {
		return nil, fmt.Errorf("regex %q: %v", expr, err)
	}
	regexes[expr] = re
	return re, nil
}

func cidrContains(c *core.CidrRange, ip netip.Addr) (bool, error) {
	pfx, err := cidrPrefix(c)
	if err != nil {
		return false, err
	}
	return ip.IsValid() && pfx.Contains(ip), nil
}

func cidrPrefix(c *core.CidrRange) (netip.Prefix, error) {
	addr, err := netip.ParseAddr(c.GetAddressPrefix())
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cidr %q: %v", c.GetAddressPrefix(), err)
	}
	bits := addr.BitLen()
	if c.GetPrefixLen() != nil {
		bits = int(c.GetPrefixLen().GetValue())
	}
	return addr.Prefix(bits)
}

// headerMatches follows route.v3.HeaderMatcher: several values of a header are joined with ","; a missing header
// matches nothing (or, inverted, everything) except a present_match asking for absence.
func headerMatches(h *route.HeaderMatcher, r *request) (bool, error) {
	value, ok := r.headers[strings.ToLower(h.GetName())]
	if !ok && h.GetTreatMissingHeaderAsEmpty() {
		value, ok = "", true
	}
	if p, isPresent := h.HeaderMatchSpecifier.(*route.HeaderMatcher_PresentMatch); isPresent {
		return ok == p.PresentMatch, nil
	}
	if !ok {
		return h.GetInvertMatch(), nil
	}
	var m bool
	var err error
	switch s := h.HeaderMatchSpecifier.(type) {
	case *route.HeaderMatcher_StringMatch:
		m, err = stringMatches(s.StringMatch, value)
	case *route.HeaderMatcher_ExactMatch:
		m = value == s.ExactMatch
	case *route.HeaderMatcher_PrefixMatch:
		m = strings.HasPrefix(value, s.PrefixMatch)
	case *route.HeaderMatcher_SuffixMatch:
		m = strings.HasSuffix(value, s.SuffixMatch)
	case *route.HeaderMatcher_ContainsMatch:
		m = strings.Contains(value, s.ContainsMatch)
	case *route.HeaderMatcher_SafeRegexMatch:
		var re interface{ MatchString(string) bool }
		re, err = compileRegex(s.SafeRegexMatch.GetRegex())
		m = err == nil && re.MatchString(value)
	case nil:
		m = true
	default:
		return false, unsupported{fmt.Sprintf("header matcher %T", h.HeaderMatchSpecifier)}
	}
	if err != nil {
		return false, err
	}
	return m != h.GetInvertMatch(), nil
}

func pathMatches(m *matcher.PathMatcher, r *request) (bool, error) {
	if !r.http {
		return false, nil
	}
	return stringMatches(m.GetPath(), r.path)
}

func metadataKey(m *matcher.MetadataMatcher) string {
	keys := make([]string, 0, len(m.GetPath()))
	for _, s := range m.GetPath() {
		keys = append(keys, s.GetKey())
	}
	return m.GetFilter() + "\x00" + strings.Join(keys, ".")
}

func valueMatches(m *matcher.ValueMatcher, v *structpb.Value) (bool, error) {
	switch p := m.MatchPattern.(type) {
	case *matcher.ValueMatcher_StringMatch:
		if v == nil {
			return false, nil
		}
		s, ok := v.Kind.(*structpb.Value_StringValue)
		if !ok {
			return false, nil
		}
		return stringMatches(p.StringMatch, s.StringValue)
	case *matcher.ValueMatcher_PresentMatch:
		return (v != nil) == p.PresentMatch, nil
	case *matcher.ValueMatcher_ListMatch:
		if v == nil || v.GetListValue() == nil {
			return false, nil
		}
		for _, item := range v.GetListValue().GetValues() {
			ok, err := valueMatches(p.ListMatch.GetOneOf(), item)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *matcher.ValueMatcher_OrMatch:
		for _, alt := range p.OrMatch.GetValueMatchers() {
			ok, err := valueMatches(alt, v)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	return false, unsupported{fmt.Sprintf("value matcher %T", m.MatchPattern)}
}

func metadataMatches(m *matcher.MetadataMatcher, r *request) (bool, error) {
	ok, err := valueMatches(m.GetValue(), r.metadata[metadataKey(m)])
	return ok != m.GetInvert(), err
}

func permissionMatches(p *rbacconfig.Permission, r *request) (bool, error) {
	switch rule := p.Rule.(type) {
	case *rbacconfig.Permission_Any:
		return rule.Any, nil
	case *rbacconfig.Permission_AndRules:
		for _, sub := range rule.AndRules.GetRules() {
			if ok, err := permissionMatches(sub, r); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *rbacconfig.Permission_OrRules:
		for _, sub := range rule.OrRules.GetRules() {
			if ok, err := permissionMatches(sub, r); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *rbacconfig.Permission_NotRule:
		ok, err := permissionMatches(rule.NotRule, r)
		return !ok, err
	case *rbacconfig.Permission_Header:
		if !r.http {
			return false, nil
		}
		return headerMatches(rule.Header, r)
	case *rbacconfig.Permission_UrlPath:
		return pathMatches(rule.UrlPath, r)
	case *rbacconfig.Permission_DestinationIp:
		return cidrContains(rule.DestinationIp, r.destIP)
	case *rbacconfig.Permission_DestinationPort:
		return rule.DestinationPort == r.port, nil
	case *rbacconfig.Permission_DestinationPortRange:
		return int32(r.port) >= rule.DestinationPortRange.GetStart() && int32(r.port) < rule.DestinationPortRange.GetEnd(), nil
	case *rbacconfig.Permission_Metadata:
		return metadataMatches(rule.Metadata, r)
	case *rbacconfig.Permission_SourcedMetadata:
		return metadataMatches(rule.SourcedMetadata.GetMetadataMatcher(), r)
	case *rbacconfig.Permission_RequestedServerName:
		return stringMatches(rule.RequestedServerName, r.serverName)
	}
	return false, unsupported{fmt.Sprintf("permission %T", p.Rule)}
}

func principalMatches(p *rbacconfig.Principal, r *request) (bool, error) {
	switch id := p.Identifier.(type) {
	case *rbacconfig.Principal_Any:
		return id.Any, nil
	case *rbacconfig.Principal_AndIds:
		for _, sub := range id.AndIds.GetIds() {
			if ok, err := principalMatches(sub, r); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *rbacconfig.Principal_OrIds:
		for _, sub := range id.OrIds.GetIds() {
			if ok, err := principalMatches(sub, r); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *rbacconfig.Principal_NotId:
		ok, err := principalMatches(id.NotId, r)
		return !ok, err
	case *rbacconfig.Principal_Authenticated_:
		if r.principal == "" {
			return false, nil
		}
		return stringMatches(id.Authenticated.GetPrincipalName(), r.principal)
	case *rbacconfig.Principal_SourceIp:
		return cidrContains(id.SourceIp, r.sourceIP)
	case *rbacconfig.Principal_DirectRemoteIp:
		return cidrContains(id.DirectRemoteIp, r.sourceIP)
	case *rbacconfig.Principal_RemoteIp:
		return cidrContains(id.RemoteIp, r.sourceIP)
	case *rbacconfig.Principal_Header:
		if !r.http {
			return false, nil
		}
		return headerMatches(id.Header, r)
	case *rbacconfig.Principal_UrlPath:
		return pathMatches(id.UrlPath, r)
	case *rbacconfig.Principal_Metadata:
		return metadataMatches(id.Metadata, r)
	case *rbacconfig.Principal_SourcedMetadata:
		return metadataMatches(id.SourcedMetadata.GetMetadataMatcher(), r)
	}
	return false, unsupported{fmt.Sprintf("principal %T", p.Identifier)}
}

func policyMatches(pol *rbacconfig.Policy, r *request) (bool, error) {
	if pol.GetCondition() != nil || pol.GetCheckedCondition() != nil {
		return false, unsupported{"policy condition (CEL)"}
	}
	perm := false
	for _, p := range pol.GetPermissions() {
		ok, err := permissionMatches(p, r)
		if err != nil {
			return false, err
		}
		if ok {
			perm = true
			break
		}
	}
	if !perm {
		return false, nil
	}
	for _, p := range pol.GetPrincipals() {
		ok, err := principalMatches(p, r)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// decide applies one RBAC config: whether it lets the request through, and the policies that matched.
func decide(rb *rbacconfig.RBAC, r *request) (bool, []string, error) {
	if rb == nil {
		return true, nil, nil
	}
	var matched []string
	names := make([]string, 0, len(rb.GetPolicies()))
	for n := range rb.GetPolicies() {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ok, err := policyMatches(rb.GetPolicies()[n], r)
		if err != nil {
			return false, nil, fmt.Errorf("policy %s: %w", n, err)
		}
		if ok {
			matched = append(matched, n)
		}
	}
	switch rb.GetAction() {
	case rbacconfig.RBAC_ALLOW:
		return len(matched) > 0, matched, nil
	case rbacconfig.RBAC_DENY:
		return len(matched) == 0, matched, nil
	}
	return true, matched, nil // LOG
}

// chainDecision runs a chain's RBAC filters in order; the reason names the filter and policies that decided.
func chainDecision(c inboundChain, r *request) (bool, string, error) {
	var allowedBy []string
	for i, f := range c.RBAC {
		if f.HasMatcher {
			return false, "", unsupported{"RBAC matcher API"}
		}
		ok, matched, err := decide(f.rules, r)
		if err != nil {
			return false, "", fmt.Errorf("%s RBAC filter %d: %w", f.Layer, i+1, err)
		}
		if !ok {
			if len(matched) > 0 {
				return false, fmt.Sprintf("%s RBAC %s refuses (%s)", f.Layer, f.rules.GetAction(), strings.Join(matched, ", ")), nil
			}
			return false, fmt.Sprintf("%s RBAC %s: no policy matches", f.Layer, f.rules.GetAction()), nil
		}
		if f.rules != nil && f.rules.GetAction() == rbacconfig.RBAC_ALLOW {
			allowedBy = append(allowedBy, matched...)
		}
	}
	if len(allowedBy) > 0 {
		return true, "ALLOW " + strings.Join(allowedBy, ", "), nil
	}
	return true, "no RBAC refuses", nil
}

// selectChains picks the filter chains Envoy's filter chain match gives a connection to `port` (destination port
// first, then destination address, then transport protocol; no fallback once a more specific step matched). The
// application protocol is the caller's to choose, so every remaining chain can be reached.
func selectChains(chains []inboundChain, port uint32, mtls bool, dest netip.Addr) []inboundChain {
	var out []inboundChain
	for _, want := range []uint32{port, 0} {
		for _, c := range chains {
			if c.Port == want {
				out = append(out, c)
			}
		}
		if len(out) > 0 {
			break
		}
	}
	best := -1
	var byAddr []inboundChain
	for _, c := range out {
		l := -1 // no prefix range: matches any address, least specific
		if len(c.PrefixRanges) == 0 {
			l = 0
		}
		for _, pr := range c.PrefixRanges {
			if p, err := netip.ParsePrefix(pr); err == nil && p.Contains(dest) && p.Bits() >= l {
				l = p.Bits() + 1
			}
		}
		if l < 0 {
			continue
		}
		if l > best {
			best, byAddr = l, nil
		}
		if l == best {
			byAddr = append(byAddr, c)
		}
	}
	want := "raw_buffer"
	if mtls {
		want = "tls"
	}
	var exact, any []inboundChain
	for _, c := range byAddr {
		switch c.Transport {
		case want:
			exact = append(exact, c)
		case "":
			any = append(any, c)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return any
}

// witnesses are the values worth trying for each attribute the chains' RBAC looks at.
type witnesses struct {
	ports      map[uint32]bool
	ips        map[netip.Addr]bool
	paths      map[string]bool
	serverName map[string]bool
	headers    map[string]map[string]bool
	metadata   map[string]map[string]bool // key → string literals; lists are tried as one-element lists
	listKeys   map[string]bool
	principals map[string]bool // principal literals, for account names
}

func newWitnesses() *witnesses {
	return &witnesses{ports: map[uint32]bool{}, ips: map[netip.Addr]bool{}, paths: map[string]bool{}, serverName: map[string]bool{}, headers: map[string]map[string]bool{}, metadata: map[string]map[string]bool{}, listKeys: map[string]bool{}, principals: map[string]bool{}}
}

// literals: values that match the string matcher and values that just miss it.
func literals(m *matcher.StringMatcher) []string {
	switch p := m.GetMatchPattern().(type) {
	case *matcher.StringMatcher_Exact:
		return []string{p.Exact, p.Exact + "x"}
	case *matcher.StringMatcher_Prefix:
		return []string{p.Prefix, p.Prefix + "x", p.Prefix[:max(0, len(p.Prefix)-1)]}
	case *matcher.StringMatcher_Suffix:
		return []string{p.Suffix, "x" + p.Suffix, p.Suffix[min(1, len(p.Suffix)):]}
	case *matcher.StringMatcher_Contains:
		return []string{p.Contains, "x" + p.Contains + "x"}
	case *matcher.StringMatcher_SafeRegex:
		if w, ok := regexWitness(p.SafeRegex.GetRegex()); ok {
			return []string{w}
		}
	}
	return nil
}

// regexWitness: one string the regular expression matches (istiod writes `.+` for a `*` value, `.*/ns/<ns>/.*` for
// a namespace), built from its syntax tree: literals as written, one repetition of what must repeat, the first
// alternative, the first character of a class.
func regexWitness(expr string) (string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	var walk func(r *syntax.Regexp) bool
	walk = func(r *syntax.Regexp) bool {
		switch r.Op {
		case syntax.OpLiteral:
			b.WriteString(string(r.Rune))
		case syntax.OpCharClass:
			if len(r.Rune) == 0 {
				return false
			}
			c := r.Rune[0]
			if c == '/' && r.Rune[1] > c { // keep witnesses free of the separators principals use
				c++
			}
			b.WriteRune(c)
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteByte('x')
		case syntax.OpStar, syntax.OpQuest, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		case syntax.OpPlus:
			return walk(r.Sub[0])
		case syntax.OpRepeat:
			for i := 0; i < r.Min; i++ {
				if !walk(r.Sub[0]) {
					return false
				}
			}
		case syntax.OpCapture:
			return walk(r.Sub[0])
		case syntax.OpConcat:
			for _, sub := range r.Sub {
				if !walk(sub) {
					return false
				}
			}
		case syntax.OpAlternate:
			return walk(r.Sub[0])
		default:
			return false
		}
		return true
	}
	if !walk(re) {
		return "", false
	}
	full, err := compileRegex(expr)
	if err != nil || !full.MatchString(b.String()) {
		return "", false
	}
	return b.String(), true
}

// addCidr: a range's first and last addresses and the two just outside it.
func (w *witnesses) addCidr(c *core.CidrRange) {
	p, err := cidrPrefix(c)
	if err != nil {
		return
	}
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	last, _ := netip.AddrFromSlice(b)
	for _, a := range []netip.Addr{p.Addr(), last, p.Addr().Prev(), last.Next()} {
		if a.IsValid() {
			w.ips[a] = true
		}
	}
}

func (w *witnesses) addHeader(h *route.HeaderMatcher) {
	name := strings.ToLower(h.GetName())
	set := w.headers[name]
	if set == nil {
		set = map[string]bool{}
		w.headers[name] = set
	}
	switch s := h.HeaderMatchSpecifier.(type) {
	case *route.HeaderMatcher_StringMatch:
		for _, l := range literals(s.StringMatch) {
			set[l] = true
		}
	case *route.HeaderMatcher_ExactMatch:
		set[s.ExactMatch], set[s.ExactMatch+"x"] = true, true
	case *route.HeaderMatcher_PrefixMatch:
		set[s.PrefixMatch], set[s.PrefixMatch+"x"] = true, true
	case *route.HeaderMatcher_SuffixMatch:
		set[s.SuffixMatch], set["x"+s.SuffixMatch] = true, true
	case *route.HeaderMatcher_ContainsMatch:
		set[s.ContainsMatch] = true
	}
	set[""] = true
}

func (w *witnesses) addValue(key string, m *matcher.ValueMatcher) {
	set := w.metadata[key]
	if set == nil {
		// Some value besides those the literals give, for matchers that only ask for presence.
		set = map[string]bool{"x": true}
		w.metadata[key] = set
	}
	switch p := m.GetMatchPattern().(type) {
	case *matcher.ValueMatcher_StringMatch:
		for _, l := range literals(p.StringMatch) {
			set[l] = true
		}
	case *matcher.ValueMatcher_ListMatch:
		w.listKeys[key] = true
		w.addValue(key, p.ListMatch.GetOneOf())
	case *matcher.ValueMatcher_OrMatch:
		for _, alt := range p.OrMatch.GetValueMatchers() {
			w.addValue(key, alt)
		}
	}
}

func (w *witnesses) permission(p *rbacconfig.Permission) {
	switch rule := p.GetRule().(type) {
	case *rbacconfig.Permission_AndRules:
		for _, s := range rule.AndRules.GetRules() {
			w.permission(s)
		}
	case *rbacconfig.Permission_OrRules:
		for _, s := range rule.OrRules.GetRules() {
			w.permission(s)
		}
	case *rbacconfig.Permission_NotRule:
		w.permission(rule.NotRule)
	case *rbacconfig.Permission_Header:
		w.addHeader(rule.Header)
	case *rbacconfig.Permission_UrlPath:
		for _, l := range literals(rule.UrlPath.GetPath()) {
			w.paths[l] = true
		}
	case *rbacconfig.Permission_DestinationPort:
		w.ports[rule.DestinationPort] = true
		w.ports[rule.DestinationPort+1] = true
	case *rbacconfig.Permission_DestinationPortRange:
		r := rule.DestinationPortRange
		for _, v := range []int32{r.GetStart() - 1, r.GetStart(), r.GetEnd() - 1, r.GetEnd()} {
			if v > 0 && v < 65536 {
				w.ports[uint32(v)] = true
			}
		}
	case *rbacconfig.Permission_Metadata:
		w.addValue(metadataKey(rule.Metadata), rule.Metadata.GetValue())
	case *rbacconfig.Permission_SourcedMetadata:
		w.addValue(metadataKey(rule.SourcedMetadata.GetMetadataMatcher()), rule.SourcedMetadata.GetMetadataMatcher().GetValue())
	case *rbacconfig.Permission_RequestedServerName:
		for _, l := range literals(rule.RequestedServerName) {
			w.serverName[l] = true
		}
	}
}

func (w *witnesses) principal(p *rbacconfig.Principal) {
	switch id := p.GetIdentifier().(type) {
	case *rbacconfig.Principal_AndIds:
		for _, s := range id.AndIds.GetIds() {
			w.principal(s)
		}
	case *rbacconfig.Principal_OrIds:
		for _, s := range id.OrIds.GetIds() {
			w.principal(s)
		}
	case *rbacconfig.Principal_NotId:
		w.principal(id.NotId)
	case *rbacconfig.Principal_Authenticated_:
		for _, l := range literals(id.Authenticated.GetPrincipalName()) {
			w.principals[l] = true
		}
	case *rbacconfig.Principal_SourceIp:
		w.addCidr(id.SourceIp)
	case *rbacconfig.Principal_DirectRemoteIp:
		w.addCidr(id.DirectRemoteIp)
	case *rbacconfig.Principal_RemoteIp:
		w.addCidr(id.RemoteIp)
	case *rbacconfig.Principal_Header:
		w.addHeader(id.Header)
	case *rbacconfig.Principal_UrlPath:
		for _, l := range literals(id.UrlPath.GetPath()) {
			w.paths[l] = true
		}
	case *rbacconfig.Principal_Metadata:
		w.addValue(metadataKey(id.Metadata), id.Metadata.GetValue())
	case *rbacconfig.Principal_SourcedMetadata:
		w.addValue(metadataKey(id.SourcedMetadata.GetMetadataMatcher()), id.SourcedMetadata.GetMetadataMatcher().GetValue())
	}
}

func (w *witnesses) rbac(rb *rbacconfig.RBAC) {
	for _, pol := range rb.GetPolicies() {
		for _, p := range pol.GetPermissions() {
			w.permission(p)
		}
		for _, p := range pol.GetPrincipals() {
			w.principal(p)
		}
	}
}

// accounts: service account names worth trying for a namespace's callers: the given ones, the names principal
// literals spell after `<prefix>` (with variants), and one no literal names.
func (w *witnesses) accounts(prefix string, given []string) []string {
	set := map[string]bool{"fresh-account": true}
	for _, g := range given {
		set[g] = true
	}
	for lit := range w.principals {
		tail := lit
		if strings.HasPrefix(lit, prefix) {
			tail = lit[len(prefix):]
		} else if i := strings.LastIndex(lit, "/sa/"); i >= 0 {
			tail = lit[i+len("/sa/"):]
		} else if strings.Contains(lit, "/") {
			continue
		}
		if tail != "" && !strings.Contains(tail, "/") {
			set[tail], set[tail+"x"], set["x"+tail] = true, true, true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func sortedStrings(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// maxRequests bounds the search per chain and caller; beyond it the verdict is undecided, never guessed.
const maxRequests = 200000

// someRequestAdmitted searches the witnesses for a request with the given principal that the chain lets through.
func someRequestAdmitted(c inboundChain, w *witnesses, principal string, candidatePorts []uint32, dest netip.Addr) (bool, string, error) {
	ips := []netip.Addr{netip.MustParseAddr("198.51.100.7")}
	for a := range w.ips {
		ips = append(ips, a)
	}
	paths := append([]string{"/"}, sortedStrings(w.paths)...)
	serverNames := append([]string{""}, sortedStrings(w.serverName)...)
	headerNames := sortedStrings(map[string]bool(keysOf(w.headers)))
	metaKeys := sortedStrings(map[string]bool(keysOf(w.metadata)))
	// dims: one slot per attribute, each with its number of candidates (a header or metadata key can also be absent).
	dims := []int{len(candidatePorts), len(ips)}
	if c.HTTP {
		dims = append(dims, len(paths))
		for _, h := range headerNames {
			dims = append(dims, len(w.headers[h])+1)
		}
		for _, k := range metaKeys {
			dims = append(dims, len(w.metadata[k])+1)
		}
	}
	dims = append(dims, len(serverNames))
	total := 1
	for _, d := range dims {
		total *= d
		if total > maxRequests {
			return false, "", fmt.Errorf("more than %d candidate requests on %s", maxRequests, c.Name)
		}
	}
	headerValues := make([][]string, len(headerNames))
	for i, h := range headerNames {
		headerValues[i] = sortedStrings(w.headers[h])
	}
	metaValues := make([][]string, len(metaKeys))
	for i, k := range metaKeys {
		metaValues[i] = sortedStrings(w.metadata[k])
	}
	idx := make([]int, len(dims))
	for n := 0; n < total; n++ {
		rest := n
		for i, d := range dims {
			idx[i], rest = rest%d, rest/d
		}
		r := &request{principal: principal, destIP: dest, port: candidatePorts[idx[0]], sourceIP: ips[idx[1]], http: c.HTTP, serverName: serverNames[idx[len(idx)-1]]}
		if c.HTTP {
			r.path = paths[idx[2]]
			r.headers = map[string]string{}
			r.metadata = map[string]*structpb.Value{}
			at := 3
			for i, h := range headerNames {
				if v := idx[at]; v < len(headerValues[i]) {
					r.headers[h] = headerValues[i][v]
				}
				at++
			}
			for i, k := range metaKeys {
				if v := idx[at]; v < len(metaValues[i]) {
					s := structpb.NewStringValue(metaValues[i][v])
					if w.listKeys[k] {
						s = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{s}})
					}
					r.metadata[k] = s
				}
				at++
			}
		}
		ok, why, err := chainDecision(c, r)
		if err != nil {
			return false, "", err
		}
		if ok {
			return true, fmt.Sprintf("%s: %s", describeRequest(r), why), nil
		}
	}
	return false, "", nil
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func describeRequest(r *request) string {
	parts := []string{"port " + strconv.Itoa(int(r.port))}
	if r.http && r.path != "/" {
		parts = append(parts, "path "+r.path)
	}
	for _, k := range sortedStrings(keysOf(r.headers)) {
		parts = append(parts, fmt.Sprintf("%s: %q", k, r.headers[k]))
	}
	for _, k := range sortedStrings(keysOf(r.metadata)) {
		parts = append(parts, fmt.Sprintf("%s = %v", strings.ReplaceAll(k, "\x00", ":"), r.metadata[k].AsInterface()))
	}
	if r.sourceIP.String() != "198.51.100.7" {
		parts = append(parts, "from "+r.sourceIP.String())
	}
	return strings.Join(parts, ", ")
}

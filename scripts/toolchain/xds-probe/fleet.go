// Fleet mode (`xds-probe fleet -file FLEET.json`): many proxies at once, each
// on its own gRPC connection and ADS stream, each a distinct node (its own
// namespace, labels, service account, proxy type and IP, with the node id and
// metadata makeNode builds for the single probe). Every stream subscribes as
// Envoy does over ADS: CDS first, EDS for the clusters CDS names, LDS once the
// first endpoints arrived, then RDS for the route configurations the listeners
// name; it ACKs every response with its version and nonce and the names it is
// subscribed to, and changes its EDS and RDS subscriptions when CDS or LDS
// change them, so that istiod keeps pushing as to a real fleet.
//
// Streams start at a bounded rate per istiod address (istiod admits new
// streams at PILOT_MAX_REQUESTS_PER_SECOND, 25/s on two cores, and refuses
// those that wait longer than a second); a refused or broken stream starts
// again through the same limiter, as Envoy retries.
//
// Output (-out, default stdout), one JSON object a line:
//
//	{"kind":"push","t":<unix ms>,"proxy":<index>,"type":<type URL>,"resources":N,"bytes":B,"version":V,"requested":R}
//
// requested is true when the response answers a subscription the proxy had
// just changed (the first of a type, or EDS or RDS after CDS or LDS named
// other resources), false for what istiod pushed on its own.
//
//	{"kind":"stream","proxy":<index>,"node":...,"pushes":...,"bytes":...}  per proxy, at the end
//	{"kind":"fleet",...}                                                     totals, last
//
// Progress goes to stderr; the line `xds-probe fleet: ready connected=N proxies=M`
// says that every proxy that could connect has its first CDS and LDS.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
)

const typeEDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"

// fleetFile is what -file holds. Proxy fields left empty take the file's
// defaults, then the flags' (-addr), then generated ones (pod fleet-<i>, an IP
// of 10.2.0.0/16 by index).
type fleetFile struct {
	Addr         string        `json:"addr,omitempty"`
	IstioVersion string        `json:"istioVersion,omitempty"`
	ClusterID    string        `json:"clusterId,omitempty"`
	Proxies      []proxyConfig `json:"proxies"`
}

type proxyConfig struct {
	Addr           string            `json:"addr,omitempty"`
	Namespace      string            `json:"namespace"`
	Type           string            `json:"type,omitempty"`
	Pod            string            `json:"pod,omitempty"`
	IP             string            `json:"ip,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
	IstioVersion   string            `json:"istioVersion,omitempty"`
	ClusterID      string            `json:"clusterId,omitempty"`
}

// parseFleet reads a fleet file and fills in every proxy's defaults; it
// refuses a proxy without namespace or address, an unknown type, and two
// proxies with the same node id (istiod would take them for one proxy).
func parseFleet(r io.Reader, defaultAddr string) ([]proxyConfig, error) {
	var f fleetFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if len(f.Proxies) == 0 {
		return nil, fmt.Errorf("no proxies")
	}
	if len(f.Proxies) > 65000 {
		return nil, fmt.Errorf("%d proxies: at most 65000 (generated IPs)", len(f.Proxies))
	}
	ids := map[string]int{}
	out := make([]proxyConfig, len(f.Proxies))
	for i, p := range f.Proxies {
		if p.Namespace == "" {
			return nil, fmt.Errorf("proxies[%d]: namespace is required", i)
		}
		p.Addr = firstOf(p.Addr, f.Addr, defaultAddr)
		if p.Addr == "" {
			return nil, fmt.Errorf("proxies[%d]: no addr (in the proxy, the file or -addr)", i)
		}
		p.Type = firstOf(p.Type, "sidecar")
		if p.Type != "sidecar" && p.Type != "router" {
			return nil, fmt.Errorf("proxies[%d]: type %q is not sidecar or router", i, p.Type)
		}
		p.Pod = firstOf(p.Pod, fmt.Sprintf("fleet-%d", i))
		p.IP = firstOf(p.IP, fmt.Sprintf("10.2.%d.%d", i/250, i%250+1))
		p.ServiceAccount = firstOf(p.ServiceAccount, "default")
		p.IstioVersion = firstOf(p.IstioVersion, f.IstioVersion, "1.31.0")
		p.ClusterID = firstOf(p.ClusterID, f.ClusterID, "Kubernetes")
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		id := p.nodeID()
		if j, dup := ids[id]; dup {
			return nil, fmt.Errorf("proxies[%d] and proxies[%d] are both node %s", j, i, id)
		}
		ids[id] = i
		out[i] = p
	}
	return out, nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func (p proxyConfig) node() (*core.Node, error) {
	return makeNode(p.Type, p.Namespace, p.Pod, p.IP, p.IstioVersion, p.ClusterID, p.ServiceAccount, p.Labels)
}

func (p proxyConfig) nodeID() string {
	return fmt.Sprintf("%s~%s~%s.%s~%s.svc.cluster.local", p.Type, p.IP, p.Pod, p.Namespace, p.Namespace)
}

// pushRecord is one response a proxy received.
type pushRecord struct {
	Kind      string `json:"kind"`
	T         int64  `json:"t"`
	Proxy     int    `json:"proxy"`
	Type      string `json:"type"`
	Resources int    `json:"resources"`
	Bytes     int    `json:"bytes"`
	Version   string `json:"version"`
	Requested bool   `json:"requested"`
}

// streamSummary is one proxy's totals at the end.
type streamSummary struct {
	Kind      string `json:"kind"`
	Proxy     int    `json:"proxy"`
	Node      string `json:"node"`
	Namespace string `json:"namespace"`
	Addr      string `json:"addr"`
	// Unix ms when its first stream opened and when its first LDS response arrived (0: never).
	OpenedMs int64 `json:"openedMs"`
	ReadyMs  int64 `json:"readyMs"`
	// Streams opened after the first: refused by istiod's rate limit or broken.
	Restarts  int               `json:"restarts"`
	Pushes    map[string]int    `json:"pushes"`
	Bytes     map[string]int    `json:"bytes"`
	Resources map[string]int    `json:"resources"`
	Versions  map[string]string `json:"versions"`
	LastError string            `json:"lastError,omitempty"`
}

type fleetSummary struct {
	Kind      string         `json:"kind"`
	Proxies   int            `json:"proxies"`
	Connected int            `json:"connected"`
	Ready     int            `json:"ready"`
	Restarts  int            `json:"restarts"`
	Pushes    map[string]int `json:"pushes"`
	Bytes     map[string]int `json:"bytes"`
	// Seconds from the start until the last proxy was ready.
	ReadySeconds float64 `json:"readySeconds"`
}

// shortType names a type URL in the summaries: cds, eds, lds, rds, or the URL.
func shortType(url string) string {
	switch url {
	case typeCDS:
		return "cds"
	case typeEDS:
		return "eds"
	case typeLDS:
		return "lds"
	case typeRDS:
		return "rds"
	}
	return url
}

// namesCache remembers, per resource content, the names a cluster or listener
// subscribes to (its EDS service name, its RDS route configurations), so that
// a thousand proxies receiving the same resource decode it once.
type namesCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[uint64][]string
}

func newNamesCache() *namesCache {
	return &namesCache{seed: maphash.MakeSeed(), m: map[uint64][]string{}}
}

func (c *namesCache) get(r *anypb.Any, decode func(*anypb.Any) ([]string, error)) ([]string, error) {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(r.TypeUrl)
	h.Write(r.Value)
	key := h.Sum64()
	c.mu.Lock()
	names, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return names, nil
	}
	names, err := decode(r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) > 1<<20 {
		c.m = map[uint64][]string{}
	}
	c.m[key] = names
	c.mu.Unlock()
	return names, nil
}

// edsNamesOf is the EDS resource a cluster asks for: none unless its discovery
// type is EDS; its service_name, else its own name.
func edsNamesOf(r *anypb.Any) ([]string, error) {
	var c cluster.Cluster
	if err := r.UnmarshalTo(&c); err != nil {
		return nil, fmt.Errorf("decode cluster: %w", err)
	}
	if c.GetType() != cluster.Cluster_EDS {
		return nil, nil
	}
	return []string{firstOf(c.GetEdsClusterConfig().GetServiceName(), c.Name)}, nil
}

// rdsNamesOf is the route configurations a listener's HTTP connection
// managers load over RDS.
func rdsNamesOf(r *anypb.Any) ([]string, error) {
	var l listener.Listener
	if err := r.UnmarshalTo(&l); err != nil {
		return nil, fmt.Errorf("decode listener: %w", err)
	}
	return listenerRouteNames(&l)
}

// listenerRouteNames is the route configurations the HTTP connection managers
// of a decoded listener load over RDS, its default filter chain included.
func listenerRouteNames(l *listener.Listener) ([]string, error) {
	var names []string
	chains := l.FilterChains
	if l.DefaultFilterChain != nil {
		chains = append(chains, l.DefaultFilterChain)
	}
	for _, fc := range chains {
		for _, f := range fc.Filters {
			tc := f.GetTypedConfig()
			if tc == nil || !tc.MessageIs(&hcm.HttpConnectionManager{}) {
				continue
			}
			var h hcm.HttpConnectionManager
			if err := tc.UnmarshalTo(&h); err != nil {
				return nil, fmt.Errorf("decode http_connection_manager: %w", err)
			}
			if name := h.GetRds().GetRouteConfigName(); name != "" {
				names = append(names, name)
			}
		}
	}
	return names, nil
}

// subscribedNames is the sorted, deduplicated union of what each resource subscribes to.
func subscribedNames(resources []*anypb.Any, cache *namesCache, decode func(*anypb.Any) ([]string, error)) ([]string, error) {
	set := map[string]bool{}
	for _, r := range resources {
		names, err := cache.get(r, decode)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// subscription is a stream's state for one type: what it asked for and the
// last response it received.
type subscription struct {
	requested bool
	// A request that changed the subscription awaits its response.
	pending bool
	names   []string
	version string
	nonce   string
}

// adsClient is the Envoy side of one ADS stream: given each response, the
// requests Envoy sends back. It holds no connection, so that it can be tested.
type adsClient struct {
	node *core.Node
	// Whether the node went out (on the first request of the stream only).
	sentNode bool
	subs     map[string]*subscription
	cache    *namesCache
}

func newADSClient(node *core.Node, cache *namesCache) *adsClient {
	return &adsClient{node: node, subs: map[string]*subscription{}, cache: cache}
}

func (a *adsClient) sub(typeURL string) *subscription {
	s, ok := a.subs[typeURL]
	if !ok {
		s = &subscription{}
		a.subs[typeURL] = s
	}
	return s
}

// request is a (re)subscription of a type with the names given, carrying the
// version and nonce of that type's last response (empty on the first).
func (a *adsClient) request(typeURL string, names []string) *discovery.DiscoveryRequest {
	req := a.send(typeURL, names)
	a.sub(typeURL).pending = true
	return req
}

func (a *adsClient) send(typeURL string, names []string) *discovery.DiscoveryRequest {
	s := a.sub(typeURL)
	s.requested = true
	s.names = names
	req := &discovery.DiscoveryRequest{TypeUrl: typeURL, VersionInfo: s.version, ResponseNonce: s.nonce, ResourceNames: names}
	if !a.sentNode {
		req.Node = a.node
		a.sentNode = true
	}
	return req
}

// start is the stream's first request: CDS, wildcard.
func (a *adsClient) start() []*discovery.DiscoveryRequest {
	return []*discovery.DiscoveryRequest{a.request(typeCDS, nil)}
}

// ack is Envoy's ACK of a response: its type, version and nonce, and the
// names the stream is subscribed to for that type.
func (a *adsClient) ack(resp *discovery.DiscoveryResponse) *discovery.DiscoveryRequest {
	s := a.sub(resp.TypeUrl)
	s.version = resp.VersionInfo
	s.nonce = resp.Nonce
	return a.send(resp.TypeUrl, s.names)
}

// follow is the subscription of type child that a response implies (EDS for
// the clusters a CDS response names, RDS for the routes an LDS response names):
// a request when the names differ from what is subscribed (an empty one when
// they are gone), else nil; and the names.
func (a *adsClient) follow(resp *discovery.DiscoveryResponse, child string, namesOf func(*anypb.Any) ([]string, error)) ([]string, *discovery.DiscoveryRequest, error) {
	names, err := subscribedNames(resp.Resources, a.cache, namesOf)
	if err != nil {
		return nil, nil, err
	}
	sub := a.sub(child)
	if len(names) > 0 && (!sub.requested || !slices.Equal(names, sub.names)) {
		return names, a.request(child, names), nil
	}
	if len(names) == 0 && sub.requested && len(sub.names) > 0 {
		return names, a.request(child, []string{}), nil
	}
	return names, nil, nil
}

// respond is what Envoy sends after a response: the ACK, then the EDS
// subscription CDS implies if it changed, LDS after the first endpoints (or
// after a CDS without EDS clusters), and the RDS subscription LDS implies if
// it changed. requested says whether the response answered a request that
// changed the subscription.
func (a *adsClient) respond(resp *discovery.DiscoveryResponse) (out []*discovery.DiscoveryRequest, requested bool, err error) {
	s := a.sub(resp.TypeUrl)
	requested = s.pending
	s.pending = false
	out = []*discovery.DiscoveryRequest{a.ack(resp)}
	requestLDS := func() {
		if !a.sub(typeLDS).requested {
			out = append(out, a.request(typeLDS, nil))
		}
	}
	switch resp.TypeUrl {
	case typeCDS:
		names, req, err := a.follow(resp, typeEDS, edsNamesOf)
		if err != nil {
			return nil, false, err
		}
		if req != nil {
			out = append(out, req)
		}
		if len(names) == 0 {
			requestLDS()
		}
	case typeEDS:
		requestLDS()
	case typeLDS:
		_, req, err := a.follow(resp, typeRDS, rdsNamesOf)
		if err != nil {
			return nil, false, err
		}
		if req != nil {
			out = append(out, req)
		}
	}
	return out, requested, nil
}

// fleetProxy is one proxy of the fleet and its counters (written by its own
// goroutine only; read after it ended).
type fleetProxy struct {
	index  int
	config proxyConfig
	node   *core.Node
	sum    streamSummary
}

type fleet struct {
	proxies   []*fleetProxy
	records   chan pushRecord
	cache     *namesCache
	connected atomic.Int64
	ready     atomic.Int64
	// Proxies that are ready or gave up.
	settled  atomic.Int64
	start    time.Time
	lastMu   sync.Mutex
	lastDone time.Time
}

// limiter hands out one stream start per tick, per istiod address.
func limiter(ctx context.Context, perSecond float64) chan struct{} {
	tokens := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return tokens
}

func runFleet(args []string) {
	fs := flag.NewFlagSet("fleet", flag.ExitOnError)
	file := fs.String("file", "", "fleet file (JSON: addr, istioVersion, clusterId, proxies[] of addr, namespace, type, pod, ip, labels, serviceAccount)")
	addr := fs.String("addr", "", "istiod's plaintext xDS address for proxies that name none")
	out := fs.String("out", "-", "where the JSON lines go (- for stdout)")
	rate := fs.Float64("rate", 20, "new streams per second per istiod address (istiod admits PILOT_MAX_REQUESTS_PER_SECOND)")
	duration := fs.Duration("duration", 0, "stop after this long (0: at SIGTERM or SIGINT)")
	readyTimeout := fs.Duration("ready-timeout", 10*time.Minute, "say ready after this long even if some proxies have no config yet")
	fs.Parse(args)
	if *file == "" {
		fail("fleet: -file is required")
	}
	if *rate <= 0 {
		fail("fleet: -rate must be positive")
	}
	f, err := os.Open(*file)
	if err != nil {
		fail("fleet: %v", err)
	}
	configs, err := parseFleet(f, *addr)
	f.Close()
	if err != nil {
		fail("fleet: %s: %v", *file, err)
	}
	w := os.Stdout
	if *out != "-" {
		if w, err = os.Create(*out); err != nil {
			fail("fleet: %v", err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		cancel()
	}()
	if *duration > 0 {
		time.AfterFunc(*duration, cancel)
	}

	fl := &fleet{records: make(chan pushRecord, 65536), cache: newNamesCache(), start: time.Now()}
	for i, c := range configs {
		node, err := c.node()
		if err != nil {
			fail("fleet: proxies[%d]: %v", i, err)
		}
		fl.proxies = append(fl.proxies, &fleetProxy{index: i, config: c, node: node, sum: streamSummary{
			Kind: "stream", Proxy: i, Node: node.Id, Namespace: c.Namespace, Addr: c.Addr,
			Pushes: map[string]int{}, Bytes: map[string]int{}, Resources: map[string]int{}, Versions: map[string]string{},
		}})
	}

	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	written := make(chan struct{})
	go func() {
		defer close(written)
		flush := time.NewTicker(time.Second)
		defer flush.Stop()
		for {
			select {
			case r, ok := <-fl.records:
				if !ok {
					return
				}
				if err := enc.Encode(r); err != nil {
					fail("fleet: write: %v", err)
				}
			case <-flush.C:
				bw.Flush()
			}
		}
	}()

	tokens := map[string]chan struct{}{}
	for _, p := range fl.proxies {
		if tokens[p.config.Addr] == nil {
			tokens[p.config.Addr] = limiter(ctx, *rate)
		}
	}
	var wg sync.WaitGroup
	for _, p := range fl.proxies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fl.run(ctx, p, tokens[p.config.Addr])
		}()
	}

	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		deadline := time.After(*readyTimeout)
		for {
			select {
			case <-ctx.Done():
				return
			case <-deadline:
				fmt.Fprintf(os.Stderr, "xds-probe fleet: ready connected=%d proxies=%d (ready-timeout: %d have config)\n", fl.connected.Load(), len(fl.proxies), fl.ready.Load())
				return
			case <-tick.C:
				fmt.Fprintf(os.Stderr, "xds-probe fleet: connected=%d ready=%d proxies=%d\n", fl.connected.Load(), fl.ready.Load(), len(fl.proxies))
				if fl.settled.Load() == int64(len(fl.proxies)) {
					fmt.Fprintf(os.Stderr, "xds-probe fleet: ready connected=%d proxies=%d\n", fl.ready.Load(), len(fl.proxies))
					return
				}
			}
		}
	}()

	wg.Wait()
	close(fl.records)
	<-written
	total := fleetSummary{Kind: "fleet", Proxies: len(fl.proxies), Pushes: map[string]int{}, Bytes: map[string]int{}}
	for _, p := range fl.proxies {
		if p.sum.OpenedMs > 0 {
			total.Connected++
		}
		if p.sum.ReadyMs > 0 {
			total.Ready++
		}
		total.Restarts += p.sum.Restarts
		for k, v := range p.sum.Pushes {
			total.Pushes[k] += v
		}
		for k, v := range p.sum.Bytes {
			total.Bytes[k] += v
		}
		if err := enc.Encode(p.sum); err != nil {
			fail("fleet: write: %v", err)
		}
	}
	if !fl.lastDone.IsZero() {
		total.ReadySeconds = fl.lastDone.Sub(fl.start).Seconds()
	}
	if err := enc.Encode(total); err != nil {
		fail("fleet: write: %v", err)
	}
	if err := bw.Flush(); err != nil {
		fail("fleet: write: %v", err)
	}
	if w != os.Stdout {
		w.Close()
	}
}

// run keeps one proxy connected until ctx ends: a stream through the
// limiter, again after each failure.
func (fl *fleet) run(ctx context.Context, p *fleetProxy, tokens chan struct{}) {
	conn, err := grpc.NewClient(p.config.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
	if err != nil {
		p.sum.LastError = err.Error()
		fl.settled.Add(1)
		return
	}
	defer conn.Close()
	settled := false
	for attempt := 0; ; attempt++ {
		select {
		case <-ctx.Done():
			if !settled {
				fl.settled.Add(1)
			}
			return
		case <-tokens:
		}
		if attempt > 0 {
			p.sum.Restarts++
		}
		err := fl.stream(ctx, conn, p, &settled)
		if ctx.Err() != nil {
			if !settled {
				fl.settled.Add(1)
			}
			return
		}
		if err != nil {
			p.sum.LastError = err.Error()
		}
	}
}

// stream is one ADS stream of a proxy, until it breaks or ctx ends.
func (fl *fleet) stream(ctx context.Context, conn *grpc.ClientConn, p *fleetProxy, settled *bool) error {
	s, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	client := newADSClient(p.node, fl.cache)
	for _, req := range client.start() {
		if err := s.Send(req); err != nil {
			return err
		}
	}
	first := true
	for {
		resp, err := s.Recv()
		if err != nil {
			return err
		}
		now := time.Now()
		if first {
			first = false
			if p.sum.OpenedMs == 0 {
				p.sum.OpenedMs = now.UnixMilli()
				fl.connected.Add(1)
			}
		}
		bytes := size(resp.Resources)
		t := shortType(resp.TypeUrl)
		p.sum.Pushes[t]++
		p.sum.Bytes[t] += bytes
		p.sum.Resources[t] = len(resp.Resources)
		p.sum.Versions[t] = resp.VersionInfo
		reqs, requested, err := client.respond(resp)
		if err != nil {
			return err
		}
		fl.records <- pushRecord{Kind: "push", T: now.UnixMilli(), Proxy: p.index, Type: resp.TypeUrl, Resources: len(resp.Resources), Bytes: bytes, Version: resp.VersionInfo, Requested: requested}
		for _, req := range reqs {
			if err := s.Send(req); err != nil {
				return err
			}
		}
		if resp.TypeUrl == typeLDS && p.sum.ReadyMs == 0 {
			p.sum.ReadyMs = now.UnixMilli()
			fl.ready.Add(1)
			if !*settled {
				*settled = true
				fl.settled.Add(1)
			}
			fl.lastMu.Lock()
			fl.lastDone = now
			fl.lastMu.Unlock()
		}
	}
}

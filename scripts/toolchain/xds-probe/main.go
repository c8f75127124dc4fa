// Command xds-probe asks an istiod for the configuration a sidecar in one
// namespace would receive, over plaintext ADS (istiod's grpc port, 15010 in a
// cluster), and prints what came back as JSON: the names of the clusters,
// listeners and route configurations, the virtual hosts' domains, and the
// size in bytes of each type's resources.
//
// It connects as node <type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local (type sidecar, or router with -type) with the
// metadata istiod needs to place a proxy (NAMESPACE, CLUSTER_ID, ISTIO_VERSION,
// LABELS), asks for CDS, then LDS, then the RDS names the listeners refer to,
// and ACKs each response as Envoy would.
//
// With -inbound it asks for LDS only, as the sidecar of a workload (-labels, -service-account; the inbound ports
// come from the Services in its namespace whose selectors match the labels, as istiod finds them from the proxy's
// metadata when no Pod has its address), and prints the virtualInbound listener's filter chains: per destination
// port and transport, whether it requires mTLS and the RBAC filters istiod compiled (enforced and shadow rules).
// With -callers FILE it also judges, for every caller the file names, whether some request gets through (rbac.go).
//
// With -watch D it stays connected for D after the first CDS response and
// prints one JSON line per CDS push (time, cluster count), for measuring how
// long a change takes to reach connected proxies.
//
// `xds-probe fleet -file FLEET.json` connects many proxies at once and records
// every push each receives (fleet.go).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	typeCDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeLDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeRDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

type result struct {
	Node         string              `json:"node"`
	Namespace    string              `json:"namespace"`
	Clusters     []string            `json:"clusters"`
	Listeners    []string            `json:"listeners"`
	Routes       []string            `json:"routes"`
	VirtualHosts map[string][]string `json:"virtualHosts"`
	// The clusters each route configuration sends requests to (route actions, weighted clusters) or mirrors them to.
	RouteClusters map[string][]string `json:"routeClusters"`
	Bytes         map[string]int      `json:"bytes"`
	Seconds       float64             `json:"seconds"`
}

type watchLine struct {
	Time     string  `json:"time"`
	Since    float64 `json:"since"`
	Clusters int     `json:"clusters"`
	Version  string  `json:"version"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "fleet" {
		runFleet(os.Args[2:])
		return
	}
	addr := flag.String("addr", "127.0.0.1:15010", "istiod's plaintext xDS address")
	ns := flag.String("namespace", "", "namespace the proxy claims to run in (required)")
	proxyType := flag.String("type", "sidecar", "the node's proxy type: sidecar, or router (a gateway)")
	pod := flag.String("pod", "probe", "pod name in the node id")
	ip := flag.String("ip", "10.1.0.1", "pod IP in the node id")
	istioVersion := flag.String("istio-version", "1.31.0", "ISTIO_VERSION metadata")
	clusterID := flag.String("cluster-id", "Kubernetes", "CLUSTER_ID metadata")
	labels := flag.String("labels", "", "pod labels, k=v,k=v (LABELS metadata)")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	watch := flag.Duration("watch", 0, "after the first CDS response, print each CDS push for this long")
	inbound := flag.Bool("inbound", false, "print the inbound listener's filter chains and their RBAC instead of the outbound view")
	serviceAccount := flag.String("service-account", "default", "SERVICE_ACCOUNT metadata (the workload's identity)")
	callers := flag.String("callers", "", "with -inbound: JSON file of callers to judge (trustDomain, serviceAccounts by namespace)")
	flag.Parse()
	if *ns == "" {
		fail("-namespace is required")
	}
	lbls, err := parseLabels(*labels)
	if err != nil {
		fail("-labels: %v", err)
	}

	var who *callersFile
	if *callers != "" {
		if !*inbound {
			fail("-callers needs -inbound")
		}
		if who, err = readCallers(*callers); err != nil {
			fail("-callers: %v", err)
		}
	}
	dest, err := netip.ParseAddr(*ip)
	if err != nil {
		fail("-ip: %v", err)
	}
	node, err := makeNode(*proxyType, *ns, *pod, *ip, *istioVersion, *clusterID, *serviceAccount, lbls)
	if err != nil {
		fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+*watch)
	defer cancel()
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
	if err != nil {
		fail("dial %s: %v", *addr, err)
	}
	defer conn.Close()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		fail("open ADS stream to %s: %v", *addr, err)
	}
	p := &prober{stream: stream, node: node}
	if *watch > 0 {
		p.watch(*watch)
		return
	}
	start := time.Now()
	if *inbound {
		res := p.inbound()
		if who != nil {
			res.Verdicts = newJudge(res.Chains, dest).verdicts(who)
		}
		res.Seconds = time.Since(start).Seconds()
		out, _ := json.MarshalIndent(res, "", "  ")
		fmt.Println(string(out))
		return
	}
	res := p.probe()
	res.Seconds = time.Since(start).Seconds()
	out, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(out))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "xds-probe: "+format+"\n", args...)
	os.Exit(1)
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not k=v", kv)
		}
		out[k] = v
	}
	return out, nil
}

func makeNode(proxyType, ns, pod, ip, istioVersion, clusterID, serviceAccount string, labels map[string]string) (*core.Node, error) {
	lbls := map[string]any{}
	for k, v := range labels {
		lbls[k] = v
	}
	meta, err := structpb.NewStruct(map[string]any{
		"NAMESPACE":     ns,
		"CLUSTER_ID":    clusterID,
		"ISTIO_VERSION": istioVersion,
		"LABELS":        lbls,
		"NAME":          pod,
		"INSTANCE_IPS":  ip,
		// The identity istiod issues certificates for and names in the proxy's own SANs.
		"SERVICE_ACCOUNT":   serviceAccount,
		"WORKLOAD_NAME":     pod,
		"INTERCEPTION_MODE": "REDIRECT",
	})
	if err != nil {
		return nil, err
	}
	return &core.Node{
		Id:       fmt.Sprintf("%s~%s~%s.%s~%s.svc.cluster.local", proxyType, ip, pod, ns, ns),
		Metadata: meta,
	}, nil
}

type prober struct {
	stream discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   *core.Node
	sent   bool
}

func (p *prober) send(req *discovery.DiscoveryRequest) {
	if !p.sent {
		req.Node = p.node // the node goes on the first request of a stream only
		p.sent = true
	}
	if err := p.stream.Send(req); err != nil {
		fail("send %s: %v", req.TypeUrl, err)
	}
}

// recv waits for a response of type typeURL, ACKing any other type on the way
// (istiod may push a type again while we wait for the next one).
func (p *prober) recv(typeURL string) *discovery.DiscoveryResponse {
	for {
		resp, err := p.stream.Recv()
		if err != nil {
			fail("waiting for %s: %v", typeURL, err)
		}
		p.ack(resp, nil)
		if resp.TypeUrl == typeURL {
			return resp
		}
	}
}

func (p *prober) ack(resp *discovery.DiscoveryResponse, names []string) {
	p.send(&discovery.DiscoveryRequest{
		TypeUrl:       resp.TypeUrl,
		VersionInfo:   resp.VersionInfo,
		ResponseNonce: resp.Nonce,
		ResourceNames: names,
	})
}

func size(resources []*anypb.Any) int {
	n := 0
	for _, r := range resources {
		n += proto.Size(r)
	}
	return n
}

func (p *prober) probe() *result {
	res := &result{
		Node:          p.node.Id,
		Namespace:     p.node.Metadata.Fields["NAMESPACE"].GetStringValue(),
		Clusters:      []string{},
		Listeners:     []string{},
		Routes:        []string{},
		VirtualHosts:  map[string][]string{},
		RouteClusters: map[string][]string{},
		Bytes:         map[string]int{},
	}

	p.send(&discovery.DiscoveryRequest{TypeUrl: typeCDS})
	cds := p.recv(typeCDS)
	res.Bytes["cds"] = size(cds.Resources)
	for _, r := range cds.Resources {
		var c cluster.Cluster
		if err := r.UnmarshalTo(&c); err != nil {
			fail("decode cluster: %v", err)
		}
		res.Clusters = append(res.Clusters, c.Name)
	}

	p.send(&discovery.DiscoveryRequest{TypeUrl: typeLDS})
	lds := p.recv(typeLDS)
	res.Bytes["lds"] = size(lds.Resources)
	routeNames := map[string]bool{}
	for _, r := range lds.Resources {
		var l listener.Listener
		if err := r.UnmarshalTo(&l); err != nil {
			fail("decode listener: %v", err)
		}
		res.Listeners = append(res.Listeners, l.Name)
		names, err := listenerRouteNames(&l)
		if err != nil {
			fail("%v", err)
		}
		for _, name := range names {
			routeNames[name] = true
		}
	}

	res.Bytes["rds"] = 0
	if len(routeNames) > 0 {
		names := make([]string, 0, len(routeNames))
		for n := range routeNames {
			names = append(names, n)
		}
		sort.Strings(names)
		p.send(&discovery.DiscoveryRequest{TypeUrl: typeRDS, ResourceNames: names})
		rds := p.recv(typeRDS)
		res.Bytes["rds"] = size(rds.Resources)
		for _, r := range rds.Resources {
			var rc route.RouteConfiguration
			if err := r.UnmarshalTo(&rc); err != nil {
				fail("decode route configuration: %v", err)
			}
			res.Routes = append(res.Routes, rc.Name)
			var domains []string
			targets := map[string]bool{}
			for _, vh := range rc.VirtualHosts {
				domains = append(domains, vh.Domains...)
				for _, rt := range vh.Routes {
					action := rt.GetRoute()
					if action == nil {
						continue
					}
					if c := action.GetCluster(); c != "" {
						targets[c] = true
					}
					for _, wc := range action.GetWeightedClusters().GetClusters() {
						targets[wc.GetName()] = true
					}
					for _, m := range action.GetRequestMirrorPolicies() {
						targets[m.GetCluster()] = true
					}
				}
			}
			clusters := make([]string, 0, len(targets))
			for c := range targets {
				clusters = append(clusters, c)
			}
			sort.Strings(clusters)
			res.RouteClusters[rc.Name] = clusters
			sort.Strings(domains)
			if domains == nil {
				domains = []string{}
			}
			res.VirtualHosts[rc.Name] = domains
		}
	}
	sort.Strings(res.Clusters)
	sort.Strings(res.Listeners)
	sort.Strings(res.Routes)
	return res
}

func (p *prober) watch(d time.Duration) {
	start := time.Now()
	enc := json.NewEncoder(os.Stdout)
	p.send(&discovery.DiscoveryRequest{TypeUrl: typeCDS})
	deadline := time.After(d)
	lines := make(chan watchLine)
	go func() {
		for {
			resp := p.recv(typeCDS)
			lines <- watchLine{
				Time:     time.Now().UTC().Format(time.RFC3339Nano),
				Since:    time.Since(start).Seconds(),
				Clusters: len(resp.Resources),
				Version:  resp.VersionInfo,
			}
		}
	}()
	for {
		select {
		case l := <-lines:
			if err := enc.Encode(l); err != nil {
				fail("write: %v", err)
			}
		case <-deadline:
			return
		}
	}
}

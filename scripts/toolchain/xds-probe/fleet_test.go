package main

import (
	"slices"
	"strings"
	"testing"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestParseFleetDefaults(t *testing.T) {
	got, err := parseFleet(strings.NewReader(`{"addr":"127.0.0.1:1","istioVersion":"1.30.4","proxies":[
		{"namespace":"t0","labels":{"app":"api"},"serviceAccount":"api"},
		{"namespace":"t1","type":"router","addr":"127.0.0.1:2","pod":"gw","ip":"10.9.0.1"}]}`), "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d proxies", len(got))
	}
	a, b := got[0], got[1]
	if a.Addr != "127.0.0.1:1" || a.Type != "sidecar" || a.Pod != "fleet-0" || a.IP != "10.2.0.1" || a.IstioVersion != "1.30.4" || a.ClusterID != "Kubernetes" {
		t.Errorf("defaults: %+v", a)
	}
	if a.nodeID() != "sidecar~10.2.0.1~fleet-0.t0~t0.svc.cluster.local" {
		t.Errorf("node id %s", a.nodeID())
	}
	if b.Addr != "127.0.0.1:2" || b.Type != "router" || b.nodeID() != "router~10.9.0.1~gw.t1~t1.svc.cluster.local" || b.ServiceAccount != "default" {
		t.Errorf("explicit: %+v", b)
	}
	node, err := a.node()
	if err != nil {
		t.Fatal(err)
	}
	if node.Id != a.nodeID() {
		t.Errorf("makeNode id %s, want %s", node.Id, a.nodeID())
	}
	md := node.Metadata.Fields
	if md["NAMESPACE"].GetStringValue() != "t0" || md["SERVICE_ACCOUNT"].GetStringValue() != "api" || md["LABELS"].GetStructValue().Fields["app"].GetStringValue() != "api" || md["ISTIO_VERSION"].GetStringValue() != "1.30.4" {
		t.Errorf("metadata %v", md)
	}
	// The flag's address serves proxies when the file names none.
	got, err = parseFleet(strings.NewReader(`{"proxies":[{"namespace":"t0"}]}`), "127.0.0.1:9")
	if err != nil || got[0].Addr != "127.0.0.1:9" {
		t.Errorf("flag address: %v %+v", err, got)
	}
}

func TestParseFleetRefuses(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{`{"proxies":[]}`, "no proxies"},
		{`{"addr":"a","proxies":[{"type":"sidecar"}]}`, "namespace is required"},
		{`{"proxies":[{"namespace":"t0"}]}`, "no addr"},
		{`{"addr":"a","proxies":[{"namespace":"t0","type":"waypoint"}]}`, "not sidecar or router"},
		{`{"addr":"a","proxies":[{"namespace":"t0","ip":"10.0.0.1"},{"namespace":"t0","ip":"10.0.0.1","pod":"fleet-0"}]}`, "are both node"},
		{`{"addr":"a","proxies":[{"namespace":"t0","lables":{}}]}`, "unknown field"},
	} {
		_, err := parseFleet(strings.NewReader(tc.file), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.file, err, tc.want)
		}
	}
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func edsCluster(name, serviceName string) *cluster.Cluster {
	return &cluster.Cluster{Name: name, ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_EDS},
		EdsClusterConfig: &cluster.Cluster_EdsClusterConfig{ServiceName: serviceName}}
}

func rdsListener(t *testing.T, name string, routes ...string) *listener.Listener {
	l := &listener.Listener{Name: name}
	for _, r := range routes {
		h := &hcm.HttpConnectionManager{RouteSpecifier: &hcm.HttpConnectionManager_Rds{Rds: &hcm.Rds{RouteConfigName: r}}}
		l.FilterChains = append(l.FilterChains, &listener.FilterChain{Filters: []*listener.Filter{{Name: "envoy.filters.network.http_connection_manager", ConfigType: &listener.Filter_TypedConfig{TypedConfig: mustAny(t, h)}}}})
	}
	return l
}

func response(t *testing.T, typeURL, version, nonce string, resources ...proto.Message) *discovery.DiscoveryResponse {
	r := &discovery.DiscoveryResponse{TypeUrl: typeURL, VersionInfo: version, Nonce: nonce}
	for _, m := range resources {
		r.Resources = append(r.Resources, mustAny(t, m))
	}
	return r
}

// brief is a request as "type version nonce [names]", node marked with a star.
func brief(r *discovery.DiscoveryRequest) string {
	s := shortType(r.TypeUrl) + " " + r.VersionInfo + " " + r.ResponseNonce + " [" + strings.Join(r.ResourceNames, ",") + "]"
	if r.Node != nil {
		s = "*" + s
	}
	return s
}

func briefs(rs []*discovery.DiscoveryRequest) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = brief(r)
	}
	return out
}

// step feeds a response; a nonce ending in "?" marks one that answers a changed subscription.
func step(t *testing.T, a *adsClient, resp *discovery.DiscoveryResponse, want ...string) {
	t.Helper()
	answered := strings.HasSuffix(resp.Nonce, "?")
	reqs, requested, err := a.respond(resp)
	if err != nil {
		t.Fatal(err)
	}
	if requested != answered {
		t.Errorf("after %s %s: requested %v", shortType(resp.TypeUrl), resp.Nonce, requested)
	}
	if got := briefs(reqs); !slices.Equal(got, want) {
		t.Errorf("after %s %s: sent %q, want %q", shortType(resp.TypeUrl), resp.Nonce, got, want)
	}
}

func TestADSClientSubscribesAndACKsAsEnvoy(t *testing.T) {
	node, err := makeNode("sidecar", "t0", "p", "10.2.0.1", "1.31.0", "Kubernetes", "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := newADSClient(node, newNamesCache())
	if got := briefs(a.start()); !slices.Equal(got, []string{"*cds   []"}) {
		t.Fatalf("start: %q", got)
	}
	static := &cluster.Cluster{Name: "BlackHoleCluster", ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_STATIC}}
	api := edsCluster("outbound|8080||api.t0.svc.cluster.local", "outbound|8080||api.t0.svc.cluster.local")
	web := edsCluster("outbound|80||web.t0.svc.cluster.local", "")
	// CDS: ACK, then EDS for the EDS clusters (service name, else cluster name), sorted.
	step(t, a, response(t, typeCDS, "v1", "n1?", static, api, web),
		"cds v1 n1? []", "eds   [outbound|8080||api.t0.svc.cluster.local,outbound|80||web.t0.svc.cluster.local]")
	// EDS: ACK with the subscribed names, then LDS.
	step(t, a, response(t, typeEDS, "v1", "n2?"),
		"eds v1 n2? [outbound|8080||api.t0.svc.cluster.local,outbound|80||web.t0.svc.cluster.local]", "lds   []")
	// LDS: ACK, then RDS for the route configurations the listeners name.
	step(t, a, response(t, typeLDS, "v1", "n3?", rdsListener(t, "0.0.0.0_80", "80"), rdsListener(t, "0.0.0.0_8080", "8080", "80")),
		"lds v1 n3? []", "rds   [80,8080]")
	step(t, a, response(t, typeRDS, "v1", "n4?"), "rds v1 n4? [80,8080]")
	// A push that changes no subscription: the ACK only. EDS is not asked for again, nor LDS.
	step(t, a, response(t, typeCDS, "v2", "n5", api, web, static), "cds v2 n5 []")
	step(t, a, response(t, typeLDS, "v2", "n6", rdsListener(t, "0.0.0.0_80", "80"), rdsListener(t, "0.0.0.0_8080", "8080")), "lds v2 n6 []")
	// A cluster removed: EDS resubscribed with the last EDS version and nonce.
	step(t, a, response(t, typeCDS, "v3", "n7", api), "cds v3 n7 []", "eds v1 n2? [outbound|8080||api.t0.svc.cluster.local]")
	step(t, a, response(t, typeEDS, "v3", "n8?"), "eds v3 n8? [outbound|8080||api.t0.svc.cluster.local]")
	// A route configuration gone: RDS resubscribed.
	step(t, a, response(t, typeLDS, "v4", "n9", rdsListener(t, "0.0.0.0_8080", "8080")), "lds v4 n9 []", "rds v1 n4? [8080]")
	// A type the client never asked for is ACKed as it came.
	step(t, a, response(t, "type.googleapis.com/other", "x", "n10"), "type.googleapis.com/other x n10 []")
}

func TestADSClientWithoutEDSClustersAsksLDSAtOnce(t *testing.T) {
	a := newADSClient(nil, newNamesCache())
	a.start()
	static := &cluster.Cluster{Name: "PassthroughCluster", ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_ORIGINAL_DST}}
	step(t, a, response(t, typeCDS, "v1", "n1?", static), "cds v1 n1? []", "lds   []")
	step(t, a, response(t, typeCDS, "v2", "n2", static), "cds v2 n2 []")
}

func TestNamesCacheDecodesOnce(t *testing.T) {
	c := newNamesCache()
	r := mustAny(t, edsCluster("a", ""))
	calls := 0
	decode := func(x *anypb.Any) ([]string, error) {
		calls++
		return edsNamesOf(x)
	}
	for range 3 {
		names, err := c.get(r, decode)
		if err != nil || !slices.Equal(names, []string{"a"}) {
			t.Fatalf("%v %v", names, err)
		}
	}
	if calls != 1 {
		t.Errorf("decoded %d times", calls)
	}
}

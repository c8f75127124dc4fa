// mesh-caller calls workloads over Istio's proxyless gRPC data plane and
// prints one JSON line per call, so a test can read from the pod's log who was
// admitted, who was refused, and why.
//
// It runs in a pod injected with Istio's grpc-agent template: pilot-agent
// writes the xDS bootstrap named by GRPC_XDS_BOOTSTRAP, and grpc-go's xDS
// resolver and credentials then take the routes, clusters and mTLS settings
// istiod sends for this pod. Each target is called with the Echo method of
// Istio's echo server (istio.io/istio/pkg/test/echo), whose reply names the
// pod that answered: a call counts as admitted only with that reply.
//
// Usage:
//
//	mesh-caller [-timeout 3s] NAME=URL ...   calls each target once, in turn, and exits
//	                                          (URL: xds:///HOST:PORT for gRPC through istiod's config,
//	                                          http://HOST:PORT/ for plain HTTP, which no proxy sees)
//	mesh-caller -wait                                    does nothing until stopped (a pod's main process)
//
// Every call is made with a fresh xDS client, so it sees istiod's current
// configuration; the test runs it with kubectl exec, in the pod's environment.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	xdscreds "google.golang.org/grpc/credentials/xds"
	"google.golang.org/grpc/status"
	_ "google.golang.org/grpc/xds" // the xds:/// resolver and balancers

	"istio.io/istio/pkg/test/echo/proto"
)

type target struct{ name, url string }

// call is one line of the output.
type call struct {
	Target   string `json:"target"`
	Code     string `json:"code"`
	Hostname string `json:"hostname,omitempty"`
	Millis   int64  `json:"ms"`
	Error    string `json:"error,omitempty"`
}

var hostnameLine = regexp.MustCompile(`(?m)^Hostname=(\S+)`)

func main() {
	wait := flag.Bool("wait", false, "do nothing until stopped")
	timeout := flag.Duration("timeout", 3*time.Second, "deadline of one call, xDS resolution included")
	flag.Parse()
	if *wait {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		return
	}
	var targets []target
	for _, a := range flag.Args() {
		name, url, ok := strings.Cut(a, "=")
		if !ok || !(strings.HasPrefix(url, "xds:///") || strings.HasPrefix(url, "http://")) {
			fmt.Fprintf(os.Stderr, "mesh-caller: target %q is not NAME=xds:///HOST:PORT or NAME=http://HOST:PORT/\n", a)
			os.Exit(2)
		}
		targets = append(targets, target{name, url})
	}
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "mesh-caller: no targets")
		os.Exit(2)
	}
	if err := bootstrapReady(30 * time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "mesh-caller: %v\n", err)
		os.Exit(1)
	}
	creds, err := xdscreds.NewClientCredentials(xdscreds.ClientOptions{FallbackCreds: insecure.NewCredentials()})
	if err != nil {
		fmt.Fprintf(os.Stderr, "mesh-caller: xDS credentials: %v\n", err)
		os.Exit(1)
	}
	// One after another: grpc-go keeps an xDS client (and stream) per channel
	// target, and pilot-agent serves one stream per pod, closing the previous
	// one when another opens.
	out := json.NewEncoder(os.Stdout)
	for _, t := range targets {
		if strings.HasPrefix(t.url, "http://") {
			_ = out.Encode(getOnce(t, *timeout))
		} else {
			_ = out.Encode(callOnce(t, creds, *timeout))
		}
	}
}

func callOnce(t target, creds credentials.TransportCredentials, timeout time.Duration) call {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	c := call{Target: t.name}
	conn, err := grpc.NewClient(t.url, grpc.WithTransportCredentials(creds))
	if err != nil {
		c.Code, c.Error = "InvalidTarget", err.Error()
		return c
	}
	defer conn.Close()
	resp, err := proto.NewEchoTestServiceClient(conn).Echo(ctx, &proto.EchoRequest{Message: "mesh-caller"})
	c.Millis = time.Since(start).Milliseconds()
	if err != nil {
		s := status.Convert(err)
		c.Code, c.Error = s.Code().String(), s.Message()
		return c
	}
	c.Code = "OK"
	if m := hostnameLine.FindStringSubmatch(resp.GetMessage()); m != nil {
		c.Hostname = m[1]
	}
	return c
}

// getOnce makes one plain HTTP GET (Istio's echo server answers with its
// hostname); codes: OK, HTTP <status>, Refused, DeadlineExceeded, Unavailable.
func getOnce(t target, timeout time.Duration) call {
	start := time.Now()
	c := call{Target: t.name}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(t.url)
	c.Millis = time.Since(start).Milliseconds()
	if err != nil {
		c.Error = err.Error()
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			c.Code = "Refused"
		case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
			c.Code = "DeadlineExceeded"
		default:
			c.Code = "Unavailable"
		}
		return c
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		c.Code = fmt.Sprintf("HTTP %d", resp.StatusCode)
		return c
	}
	c.Code = "OK"
	if m := hostnameLine.FindSubmatch(body); m != nil {
		c.Hostname = string(m[1])
	}
	return c
}

// bootstrapReady waits for pilot-agent to write the xDS bootstrap that
// grpc-go reads when the first xds:/// channel is made.
func bootstrapReady(within time.Duration) error {
	path := os.Getenv("GRPC_XDS_BOOTSTRAP")
	if path == "" {
		return fmt.Errorf("GRPC_XDS_BOOTSTRAP is not set (is the pod injected with the grpc-agent template?)")
	}
	for deadline := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no xDS bootstrap at %s after %s", path, within)
		}
	}
}

// Command echoprobe is the only program in the local node's images (see
// scripts/node.sh): the pod sandbox's pause process, an echo server that
// answers HTTP with where it runs, and a probe that connects to a list of
// targets and says, per target, what came back.
//
//	echoprobe pause
//	echoprobe serve PORT...          (POD_NAMESPACE and POD_NAME name the pod)
//	echoprobe probe [-timeout D] HOST:PORT...
//
// The probe prints one JSON object per target: "admitted" with the server's
// reply, "refused" (RST or ICMP unreachable), "timeout" (no answer before the
// deadline), or "error" (anything else, including a connection that opened but
// gave no echo reply: on some networks a gateway accepts connects to any
// address, so only the reply proves the pod was reached).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// replyPrefix starts every echo reply; the probe admits a target only on it.
const replyPrefix = "echoprobe "

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: echoprobe pause | serve PORT... | probe [-timeout D] HOST:PORT...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "pause":
		pause()
	case "serve":
		serve(os.Args[2:])
	case "probe":
		os.Exit(probe(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "echoprobe: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

// pause holds the pod's namespaces open until the runtime stops it. As PID 1
// of the sandbox it also reaps the orphans that end up re-parented to it.
func pause() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}

func serve(ports []string) {
	if len(ports) == 0 {
		fmt.Fprintln(os.Stderr, "echoprobe serve: no port given")
		os.Exit(2)
	}
	namespace, pod := os.Getenv("POD_NAMESPACE"), os.Getenv("POD_NAME")
	errs := make(chan error, len(ports))
	for _, p := range ports {
		port, err := strconv.Atoi(p)
		if err != nil || port <= 0 || port > 65535 {
			fmt.Fprintf(os.Stderr, "echoprobe serve: bad port %q\n", p)
			os.Exit(2)
		}
		reply := fmt.Sprintf("%snamespace=%s pod=%s port=%d\n", replyPrefix, namespace, pod, port)
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, reply)
		})
		go func() {
			errs <- (&http.Server{Addr: ":" + p, Handler: handler, ReadHeaderTimeout: 5 * time.Second}).ListenAndServe()
		}()
	}
	fmt.Fprintf(os.Stderr, "echoprobe: %s/%s serving on %s\n", namespace, pod, strings.Join(ports, ","))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errs:
		fmt.Fprintln(os.Stderr, "echoprobe serve:", err)
		os.Exit(1)
	case <-stop:
	}
}

type result struct {
	Target  string  `json:"target"`
	Outcome string  `json:"outcome"`
	Reply   string  `json:"reply,omitempty"`
	Error   string  `json:"error,omitempty"`
	Seconds float64 `json:"seconds"`
}

func probe(args []string) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "deadline for each target, connect and reply together")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	targets := fs.Args()
	results := make([]result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = probeOne(t, *timeout)
		}()
	}
	wg.Wait()
	enc := json.NewEncoder(os.Stdout)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return 1
		}
	}
	return 0
}

func probeOne(target string, timeout time.Duration) result {
	start := time.Now()
	r := result{Target: target}
	defer func() { r.Seconds = time.Since(start).Seconds() }()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
	if err != nil {
		r.Outcome, r.Error = classify(err), err.Error()
		r.Seconds = time.Since(start).Seconds()
		return r
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	host, _, _ := net.SplitHostPort(target)
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", host); err != nil {
		r.Outcome, r.Error = classify(err), err.Error()
		r.Seconds = time.Since(start).Seconds()
		return r
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		r.Outcome, r.Error = classify(err), "connected, then: "+err.Error()
		r.Seconds = time.Since(start).Seconds()
		return r
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	reply := strings.TrimSpace(string(body))
	switch {
	case err != nil:
		r.Outcome, r.Error = classify(err), "connected, then: "+err.Error()
	case resp.StatusCode == http.StatusOK && strings.HasPrefix(reply, replyPrefix):
		r.Outcome, r.Reply = "admitted", reply
	default:
		r.Outcome, r.Error = "error", fmt.Sprintf("connected, but no echo reply: HTTP %d %q", resp.StatusCode, reply)
	}
	r.Seconds = time.Since(start).Seconds()
	return r
}

func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "error"
}

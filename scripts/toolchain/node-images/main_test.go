package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The probe's verdicts are what the node e2e compares with the model, so each
// one is checked against a listener that behaves that way.
func TestProbeOutcomes(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(replyPrefix + "namespace=a pod=b port=1\n"))
	}))
	defer echo.Close()
	// Something else answering HTTP, as a gateway that accepts any connect does.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUpgradeRequired)
	}))
	defer other.Close()
	// Accepts and never answers: the probe must give up at its deadline.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	for _, c := range []struct {
		target, outcome, reply string
	}{
		{strings.TrimPrefix(echo.URL, "http://"), "admitted", "echoprobe namespace=a pod=b port=1"},
		{strings.TrimPrefix(other.URL, "http://"), "error", ""},
		{silent.Addr().String(), "timeout", ""},
		{closedAddr, "refused", ""},
	} {
		r := probeOne(c.target, 500*time.Millisecond)
		if r.Outcome != c.outcome || r.Reply != c.reply {
			t.Errorf("%s: got %+v, want %s %q", c.target, r, c.outcome, c.reply)
		}
	}
}

package queue

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedOptions configure the in-process NATS server.
type EmbeddedOptions struct {
	// DataDir holds the JetStream store (DataDir/nats) and the lock.
	DataDir string
	// Listen is the client address ("127.0.0.1:4222"); empty: no port,
	// clients connect in-process only.
	Listen string
	// SyncAlways fsyncs every write instead of every two minutes.
	SyncAlways bool
	Logger     *slog.Logger
}

// Embedded is a running in-process NATS server with JetStream, holding the
// data dir's lock for its lifetime.
type Embedded struct {
	srv  *server.Server
	lock *DirLock
}

// StartEmbedded locks the data dir and starts the server. The server's own
// signal handlers are off: the process decides when to shut down.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	lock, err := LockDir(o.DataDir)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: "pkgwarden",
		JetStream:  true,
		StoreDir:   filepath.Join(o.DataDir, "nats"),
		SyncAlways: o.SyncAlways,
		NoSigs:     true,
		DontListen: o.Listen == "",
		// NATS refuses messages over 1 MiB by default, and warns at every
		// start above 8 MiB; larger webhook bodies go to BucketBodies.
		MaxPayload: MaxPayload,
		// The HTTP monitor, cluster and leaf ports stay off.
	}
	if o.Listen != "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			lock.Unlock()
			return nil, fmt.Errorf("PKGWARDEN_NATS_LISTEN %q: %w", o.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			lock.Unlock()
			return nil, fmt.Errorf("PKGWARDEN_NATS_LISTEN %q: port: %w", o.Listen, err)
		}
		if p == 0 {
			p = server.RANDOM_PORT // the server reads 0 as its default, 4222
		}
		opts.Host, opts.Port = host, p
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("embedded nats in %s: %w", o.DataDir, err)
	}
	if o.Logger != nil {
		srv.SetLoggerV2(serverLogger{o.Logger.With("component", "nats")}, false, false, false)
	}
	srv.Start()
	deadline := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		deadline = time.Until(d)
	}
	if !srv.ReadyForConnections(deadline) {
		srv.Shutdown()
		lock.Unlock()
		return nil, fmt.Errorf("embedded nats in %s: not ready after %s", o.DataDir, deadline)
	}
	return &Embedded{srv: srv, lock: lock}, nil
}

// Connect opens an in-process client connection.
func (e *Embedded) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.Name("pkgwarden"), nats.InProcessServer(e.srv), nats.MaxReconnects(-1)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats: %w", err)
	}
	return nc, nil
}

// ClientURL is the listening client URL, or "" without a port.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Shutdown stops the server, waits for it to flush, and releases the lock.
func (e *Embedded) Shutdown() error {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	return e.lock.Unlock()
}

// serverLogger sends the server's log lines to slog.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(f string, v ...any) { s.l.Debug(fmt.Sprintf(f, v...)) } // banner and routine notices
func (s serverLogger) Warnf(f string, v ...any)   { s.l.Warn(fmt.Sprintf(f, v...)) }
func (s serverLogger) Fatalf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...), "fatal", true) }
func (s serverLogger) Errorf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...)) }
func (s serverLogger) Debugf(f string, v ...any)  { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s serverLogger) Tracef(f string, v ...any)  { s.l.Debug(fmt.Sprintf(f, v...)) }

// ConnectExternal connects to an external server or cluster and keeps
// reconnecting forever: a NATS restart must not end pkgwarden.
func ConnectExternal(urls []string, creds string, logger *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("pkgwarden"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		// An authorization failure reaches neither Connect (it retries)
		// nor a request (the connection just closes): say it here.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			logger.Error("nats error", "err", err)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				logger.Error("nats connection closed for good", "err", err)
				return
			}
			logger.Info("nats connection closed")
		}),
	}
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		// The URLs may carry user:password, so they stay out of the error.
		return nil, fmt.Errorf("connect to nats (%d servers in PKGWARDEN_NATS_URL): %w", len(urls), err)
	}
	return nc, nil
}

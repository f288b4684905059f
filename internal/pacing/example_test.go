package pacing_test

import (
	"context"
	"log"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
)

// Example wires a packages client the way a prune job does: one Pacer per
// process on the shared bucket, under githubapi's retrying Transport.
func Example() {
	ctx := context.Background()
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	kv, err := pacing.CreateBucket(ctx, js, 1)
	if err != nil {
		log.Fatal(err)
	}
	var obs githubapi.Observer // the metrics, in serve
	p, err := pacing.New(kv, pacing.Config{}, pacing.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	token := githubapi.NewToken("acme", "env", os.Getenv("PKGWARDEN_PACKAGES_TOKEN"))
	client, err := githubapi.NewPackagesClient(token, githubapi.PackagesClientOptions{
		Transport: githubapi.NewTransport(p.Wrap(nil), githubapi.RetryPolicy{}, obs),
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = client // client.DeleteVersion(...) now waits its turn across replicas
}

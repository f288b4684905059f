// Package deploy holds no code: it is the home of pkgwarden's deployment files
// (Dockerfile, Kubernetes manifests, NATS cluster config, systemd unit), and its
// tests check those files with real parts where this machine allows: the
// manifests decode strictly with the expected fields, and the NATS config starts
// a real three-node JetStream cluster that survives the loss of a node.
package deploy

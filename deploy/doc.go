// Package deploy holds Sightline's deployment files: kubernetes/ (a
// kustomize base, components and overlays, with KEDA autoscaling of the
// detect workers), and prometheus/ and grafana/ (the monitoring that the
// repository's docker-compose.yml starts). The Dockerfile and
// docker-compose.yml sit at the repository's root.
//
// The package has no code of its own. Its tests build every overlay and
// load the Compose file, decode each object strictly into its real API
// type, and check that the files agree with each other and with the
// binary: subcommands, flags and roles, SIGHTLINE_* settings, task queues,
// ports, probes and metric names. They need no network, cluster or Docker.
package deploy

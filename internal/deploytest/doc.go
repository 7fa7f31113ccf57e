// Package deploytest checks the deployment files of the repository for
// real: the container image and docker-compose.yml on the Docker engine,
// and the systemd unit with systemd-analyze. It holds tests only.
package deploytest

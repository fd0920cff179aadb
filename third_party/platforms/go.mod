module github.com/containerd/platforms

go 1.24

require (
	github.com/opencontainers/image-spec v1.1.0
	github.com/sirupsen/logrus v1.9.3
	golang.org/x/sys v0.26.0
)

require (
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/stretchr/testify v1.8.4 // indirect
)

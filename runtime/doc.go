// Package runtime is a hako container: its record on disk, the OCI spec
// built from the image config, the user's flags and Docker's secure
// defaults, volumes and mounts, and the lifecycle through runc's
// libcontainer (create, run in the foreground with stdio or a TTY, signals,
// exit status, teardown), with the repair of containers whose hako died.
// It knows nothing of registries: the caller passes the image's config and
// layer directories.
package runtime

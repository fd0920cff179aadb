package runtime

// OnStart has Run call f once the container's process runs and is recorded
// in init.json: the foreground hako run, which lives as long as its
// container, drops its start-up memory there (monitor.Trim).
func (c *Container) OnStart(f func()) { c.onStart = f }

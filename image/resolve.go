package image

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PullPolicy says when Resolve pulls: Docker's --pull values.
type PullPolicy string

// The pull policies. The zero value means PullMissing.
const (
	PullMissing PullPolicy = "missing" // pull only when the store lacks the image (or has another platform's)
	PullAlways  PullPolicy = "always"  // pull every time, to pick up a moved tag
	PullNever   PullPolicy = "never"   // use the store only
)

// ParsePullPolicy parses a --pull value.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case PullMissing, PullAlways, PullNever:
		return p, nil
	}
	return "", fmt.Errorf("invalid pull option %q: must be missing, always or never", s)
}

// ErrPlatformMismatch is matched (errors.Is) by Resolve's error when the
// image found is not for the platform asked for.
var ErrPlatformMismatch = errors.New("image does not match the specified platform")

// ResolveOptions tune Resolve.
type ResolveOptions struct {
	// Pull is when to pull; "" is PullMissing.
	Pull PullPolicy
	// Platform the image must run on; nil accepts any stored image (with a
	// warning when it is not the host's) and pulls the host's.
	Platform *v1.Platform
	// Progress, when set, follows a pull layer by layer.
	Progress Progress
	// Notice, when set, is told the line Docker prints before it pulls a
	// missing image: "Unable to find image 'REF' locally".
	Notice func(msg string)
	// Warn, when set, is told Docker's warning that a stored image is not
	// for the host's platform (the message, without "WARNING: ").
	Warn func(msg string)
}

// Resolve returns the image ref names, from the store or pulled into it as
// opts.Pull says, as `docker run` finds its image. A stored image for
// another platform than opts.Platform is pulled again for that platform
// (PullNever fails instead). The caller that is about to make a container
// of the image holds Use around Resolve and the container's creation.
func (s *Store) Resolve(ctx context.Context, ref string, opts ResolveOptions) (*Image, error) {
	policy := opts.Pull
	if policy == "" {
		policy = PullMissing
	}
	if _, err := ParsePullPolicy(string(policy)); err != nil {
		return nil, err
	}
	if policy != PullAlways {
		img, err := s.Get(ref)
		switch {
		case errors.Is(err, ErrNotFound) && policy == PullNever:
			return nil, &notFoundError{ref: ref}
		case err != nil && !errors.Is(err, ErrNotFound):
			return nil, err
		case err == nil:
			have := img.Platform()
			switch {
			case opts.Platform == nil:
				// As Docker: run it (binfmt may run another arch), but say so.
				if host := HostPlatform(); !RunsOn(have, host) && opts.Warn != nil {
					opts.Warn(fmt.Sprintf("The requested image's platform (%s) does not match the detected host platform (%s) and no specific platform was requested",
						PlatformString(have), PlatformString(host)))
				}
				return img, nil
			case RunsOn(have, *opts.Platform):
				return img, nil
			case policy == PullNever:
				return nil, platformMismatch(ref, *opts.Platform, have)
			}
			// The stored image is another platform's: pull the one asked for.
		}
		if opts.Notice != nil {
			opts.Notice(fmt.Sprintf("Unable to find image '%s' locally", ref))
		}
	}
	res, err := s.Pull(ctx, ref, PullOptions{Platform: opts.Platform, Progress: opts.Progress})
	if err != nil {
		return nil, err
	}
	// A single-platform image is what it is, whatever Platform asked.
	if have := res.Image.Platform(); opts.Platform != nil && !RunsOn(have, *opts.Platform) {
		return nil, platformMismatch(ref, *opts.Platform, have)
	}
	return res.Image, nil
}

// notFoundError words a missing image as Docker does and matches ErrNotFound.
type notFoundError struct{ ref string }

func (e *notFoundError) Error() string        { return "No such image: " + e.ref }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

// platformError says the image found is not for the platform asked for and
// matches ErrPlatformMismatch.
type platformError struct {
	ref        string
	want, have v1.Platform
}

func platformMismatch(ref string, want, have v1.Platform) error {
	return &platformError{ref: ref, want: want, have: have}
}

func (e *platformError) Error() string {
	return fmt.Sprintf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s",
		e.ref, PlatformString(e.want), PlatformString(e.have))
}

func (e *platformError) Is(target error) bool { return target == ErrPlatformMismatch }

# hako — build, test, benchmark and demo. Each target installs what it needs.
GO        ?= go
BIN       := bin/hako
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# nethttpomithttp2 leaves net/http's bundled HTTP/2 out (~0.35 MB):
# registries speak HTTP/1.1, which hako's transports use (BENCHMARKS.md,
# "Binary size").
TAGS      := seccomp netgo osusergo nethttpomithttp2
GOARCH    ?= $(shell $(GO) env GOARCH)
# Inlining stays on in the standard library's runtime, crypto, compression,
# archive, encoding and syscall paths and on the layer extraction path
# (klauspost/compress, hako's rootfs); it is off in the rest: the
# third-party and hako code, and the standard library's HTTP, TLS
# handshake, X.509, DNS, URL, MIME, regexp and template code, whose calls
# cost nothing next to the network or are rare. Stripped amd64 -1.0 MB for
# the same start-up (`hako version` and `run` execute the same number of
# instructions within 1%; inlining off everywhere would cost 29%):
# BENCHMARKS.md, "Binary size". scripts/cross-build uses the same flags.
NOINLINE_STD := net net/http/... net/url net/textproto mime/... crypto/tls crypto/x509/... \
	encoding/asn1 encoding/pem math/big text/... regexp/... vendor/golang.org/x/net/... \
	vendor/golang.org/x/text/...
GCFLAGS   := -gcflags=all=-l -gcflags=std= -gcflags=github.com/klauspost/compress/...= \
	-gcflags=github.com/hako-run/hako/rootfs= $(foreach p,$(NOINLINE_STD),-gcflags=$(p)=-l)
export GCFLAGS
# A plain static executable: every hako process (each CLI call, each
# monitor, each container's init, twice per run) would otherwise relocate
# a 1.6 MB .data.rel.ro at start as a static-pie does, ~1,000 more page
# faults and ~1.3 MB more private memory per process (docs/ARCHITECTURE.md,
# "Build"). PIE=1 builds runc's static-pie instead, where the C library
# supports it (not on 32-bit arm).
PIE       ?= 0
LIBC      ?= musl
ifeq ($(PIE)$(LIBC),1musl)
# Debian's musl-gcc specs turn -static-pie into a dynamic PIE (ld-musl).
$(error PIE=1 needs LIBC=glibc)
endif
ifeq ($(PIE)$(filter arm,$(GOARCH)),1)
STATIC    := -buildmode=pie -ldflags "-X main.commit=$(COMMIT) -linkmode external -extldflags -static-pie"
else
STATIC    := -buildmode=exe -ldflags "-X main.commit=$(COMMIT) -linkmode external -extldflags -static"
endif
# LIBC=musl (the default) links hako against musl and a libseccomp built
# from source with it (scripts/musl-libseccomp, cached in .cache/musl):
# glibc's static start costs every hako process CPU (CPUID, which traps to
# the hypervisor in a VM, for its cache sizes and IFUNCs) and ~0.8 MB
# (BENCHMARKS.md, "musl (h7)"). LIBC=glibc links Debian's glibc and
# libseccomp-dev as before.
ifeq ($(LIBC),musl)
APT_DEPS  := musl-tools autoconf automake libtool gperf make pkg-config busybox-static
# The C compiler and the .pc of the musl libseccomp for GOARCH, built first.
CGO_ENV   = musl=$$(GO=$(GO) ./scripts/musl-libseccomp $(GOARCH)) && export CC=$$musl/bin/cc PKG_CONFIG_LIBDIR=$$musl/lib/pkgconfig &&
else ifeq ($(LIBC),glibc)
APT_DEPS  := libseccomp-dev pkg-config busybox-static
CGO_ENV   =
else
$(error LIBC=$(LIBC): musl or glibc)
endif
# Debian's containerd (ctr, the runc shim) for the hako-runc tests, unless a
# containerd is installed already: Docker's containerd.io conflicts with it.
CONTAINERD_DEP := $(if $(shell command -v containerd 2>/dev/null),,containerd)
# libseccomp-dev: go test links the test binaries against the system's C
# library and libseccomp, whatever LIBC make build uses.
TEST_DEPS := $(APT_DEPS) libseccomp-dev docker-registry runc crun podman apparmor iproute2 nftables util-linux procps file git $(CONTAINERD_DEP) containernetworking-plugins iptables
BENCH_DEPS := $(TEST_DEPS) podman skopeo umoci runc crun iperf3

.PHONY: build install cross test oci-validation bench demo docs deps test-deps bench-deps fuzz clean

# crictl, Kubernetes' CRI client, for the CRI e2e test (e2e/runc_cri_test.go),
# built from its Go module.
CRICTL_VERSION := v1.37.0

build: deps
	$(CGO_ENV) CGO_ENABLED=1 $(GO) build -trimpath $(GCFLAGS) $(STATIC) -tags "$(TAGS)" -o $(BIN) ./cmd/hako

# install puts hako in $(PREFIX)/bin with hako-runc beside it: the same
# binary, which speaks runc's command line under that name (containerd's
# runc shim, BinaryName). Keep it outside the state roots (/run/hako*).
PREFIX ?= /usr/local
# The installed copy is stripped (symbol table and DWARF: 18.5 -> 13.2 MB
# on amd64 with musl); start-up is the same, as neither is loaded. bin/hako keeps them
# for perf and debuggers.
install: build
	install -D -s -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hako
	ln -sf hako $(DESTDIR)$(PREFIX)/bin/hako-runc

# cross builds static binaries for Raspberry Pis from an amd64 Debian host:
# bin/hako-linux-arm64 (64-bit Pi OS) and bin/hako-linux-armv7 (32-bit).
cross:
	LIBC=$(LIBC) ./scripts/cross-build $(COMMIT)

# deps installs the Debian packages a build needs, only when one is missing.
deps:
	@./scripts/apt-need $(APT_DEPS)

test-deps:
	@./scripts/apt-need $(TEST_DEPS)

bench-deps:
	@./scripts/apt-need $(BENCH_DEPS)

# test runs every test (unit and e2e; they need root and a real kernel),
# then each fuzz target briefly.
test: test-deps build bin/crictl
	CGO_ENABLED=1 $(GO) test -tags "$(TAGS)" -count=1 -timeout 20m ./...
	# hako's own code in the patched libcontainer (third_party/runc)
	CGO_ENABLED=1 $(GO) test -tags "$(TAGS)" -count=1 github.com/opencontainers/runc/libcontainer github.com/opencontainers/runc/libcontainer/capabilities github.com/opencontainers/runc/libcontainer/exeseal github.com/opencontainers/runc/libcontainer/seccomp/patchbpf
	$(MAKE) fuzz

# oci-validation runs the OCI runtime validation suite (runtime-tools'
# validation/ programs, built from the Go module) against hako-runc and runc.
oci-validation: test-deps build
	./scripts/oci-validation $(BIN)

# Budgets in executions, not seconds: Go 1.26's fuzz coordinator can fail a
# clean run with "context deadline exceeded" when a -fuzztime duration ends
# (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
FUZZ_LAYERS ?= 2000x
FUZZ_REFS   ?= 50000x
# The engine minimizes each new interesting input before going on, for up
# to 60 s by default, and counts none of those executions: the "0 execs/s"
# stalls of FuzzApplyLayer (each execution sets up a hostile tree, ~1-5 ms,
# and inputs run to tens of KB). A count bounds it to a second or two.
FUZZ_MINIMIZE ?= 250x
fuzz:
	CGO_ENABLED=1 $(GO) test -tags "$(TAGS)" -run '^$$' -fuzz '^FuzzApplyLayer$$' -fuzztime $(FUZZ_LAYERS) -fuzzminimizetime $(FUZZ_MINIMIZE) ./rootfs
	CGO_ENABLED=1 $(GO) test -tags "$(TAGS)" -run '^$$' -fuzz '^FuzzParseReference$$' -fuzztime $(FUZZ_REFS) -fuzzminimizetime $(FUZZ_MINIMIZE) ./image

# bench measures pulls, then container start latency, against the peers,
# then ctr run through containerd's runc shim with hako-runc, runc and crun.
bench: bench-deps build
	CGO_ENABLED=1 $(GO) run -tags "$(TAGS)" ./bench -hako $(BIN)
	CGO_ENABLED=1 $(GO) run -tags "$(TAGS)" ./bench -hako $(BIN) -run
	CGO_ENABLED=1 $(GO) run -tags "$(TAGS)" ./bench -hako $(BIN) -exec
	CGO_ENABLED=1 $(GO) run -tags "$(TAGS)" ./bench -hako $(BIN) -monitor
	CGO_ENABLED=1 $(GO) run -tags "$(TAGS)" ./bench -hako $(BIN) -containerd
	CGO_ENABLED=1 $(GO) run -tags "$(TAGS)" ./bench -hako $(BIN) -build
	CGO_ENABLED=1 $(GO) run -tags "$(TAGS)" ./bench -hako $(BIN) -net

bin/crictl:
	GOBIN=$(CURDIR)/bin CGO_ENABLED=0 GOFLAGS= $(GO) install sigs.k8s.io/cri-tools/cmd/crictl@$(CRICTL_VERSION)

demo: build
	./scripts/demo

# docs regenerates docs/how-it-works.md from a real run (root).
docs: build
	./scripts/how-it-works

clean:
	rm -rf bin

//go:build linux && amd64

// ftrace lists the functions of a static ELF binary that a command, and every
// process it starts that executes the same binary, enters: a one-shot int3 at
// each function's entry (ptrace), removed at its first hit, so the list is
// complete (not a sample) and a function costs one stop. Usage:
//
//	ftrace -bin BIN -o OUT -- CMD ARGS...
//
// OUT gets a line "seq image pid role name" per function and process image, in
// the order of first entry; role is the process's first argument at its exec
// ("init" for a container's init), with "+fork" per fork of it. For
// scripts/textorder (BENCHMARKS.md, "Text layout").
package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"syscall"
)

type fn struct {
	addr uint64
	name string
}

var (
	verbose bool
	funcs   []fn
	byAddr  = map[uint64]int{}
	textLo  uint64
	textHi  uint64
	textOrg []byte // original text bytes
	textArm []byte // with int3 at each entry
)

type mm struct {
	hit   map[uint64]bool
	role  string
	image int
}

func main() {
	bin := flag.String("bin", "", "binary whose functions to trace")
	out := flag.String("o", "ftrace.out", "output")
	flag.BoolVar(&verbose, "v", false, "report each process image")
	flag.Parse()
	runtime.LockOSThread()
	load(*bin)
	w, err := os.Create(*out)
	if err != nil {
		fatal("creating the output: %v", err)
	}
	bw := bufio.NewWriter(w)
	defer func() { bw.Flush(); w.Close() }()

	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		fatal("starting %s: %v", flag.Arg(0), err)
	}
	root := cmd.Process.Pid
	mms := map[int]*mm{} // by tid
	seen := map[int]bool{root: true}
	held := map[int]bool{}
	images := 0
	seq := 0
	var ws syscall.WaitStatus
	// First stop: after exec (SIGTRAP).
	if _, err := syscall.Wait4(root, &ws, syscall.WALL, nil); err != nil {
		fatal("waiting for the command's exec: %v", err)
	}
	opts := syscall.PTRACE_O_TRACECLONE | syscall.PTRACE_O_TRACEFORK | syscall.PTRACE_O_TRACEVFORK | syscall.PTRACE_O_TRACEEXEC | 0x100000 /* EXITKILL */
	if err := syscall.PtraceSetOptions(root, opts); err != nil {
		fatal("ptrace options: %v", err)
	}
	arm := func(pid int) *mm {
		m := &mm{hit: map[uint64]bool{}, role: role(pid), image: images}
		images++
		if isBin(pid) {
			f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", pid), os.O_RDWR, 0)
			if err == nil {
				_, err = f.WriteAt(textArm, int64(textLo))
				f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "ftrace: arm", pid, err)
			}
		} else {
			m.role = "other:" + m.role
			m.hit = nil
		}
		if verbose {
			fmt.Fprintf(os.Stderr, "ftrace: image %d pid %d %s\n", m.image, pid, m.role)
		}
		return m
	}
	mms[root] = arm(root)
	syscall.PtraceCont(root, 0)
	for {
		pid, err := syscall.Wait4(-1, &ws, syscall.WALL, nil)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			if err != syscall.ECHILD {
				fmt.Fprintln(os.Stderr, "ftrace: wait:", err)
			}
			break
		}
		if ws.Exited() || ws.Signaled() {
			delete(mms, pid)
			continue
		}
		if !ws.Stopped() {
			continue
		}
		sig := ws.StopSignal()
		m, known := mms[pid]
		if !seen[pid] {
			seen[pid] = true
			if sig == syscall.SIGSTOP && pid != root {
				// A new task's first stop. Its parent's clone event may
				// come later: hold the task until it does, so that every
				// stop of it finds its address space.
				if known {
					syscall.PtraceCont(pid, 0)
				} else {
					held[pid] = true
				}
				continue
			}
		}
		if sig == syscall.SIGTRAP {
			switch ev := ws.TrapCause(); ev {
			case syscall.PTRACE_EVENT_CLONE, syscall.PTRACE_EVENT_FORK, syscall.PTRACE_EVENT_VFORK:
				msg, _ := syscall.PtraceGetEventMsg(pid)
				child := int(msg)
				pm := mms[pid]
				var cm *mm
				if ev == syscall.PTRACE_EVENT_CLONE && sameVM(pid, child) || ev == syscall.PTRACE_EVENT_VFORK {
					cm = pm
				} else if pm != nil {
					// a copy of the address space: its hits are separate
					cm = &mm{hit: map[uint64]bool{}, role: pm.role + "+fork", image: images}
					images++
					if pm.hit == nil {
						cm.hit = nil
					}
					for a := range pm.hit {
						cm.hit[a] = true // already restored in the copy
					}
					cm.role = pm.role + "+fork"
				}
				mms[child] = cm
				if held[child] {
					delete(held, child)
					syscall.PtraceCont(child, 0)
				}
				syscall.PtraceCont(pid, 0)
				continue
			case syscall.PTRACE_EVENT_EXEC:
				mms[pid] = arm(pid)
				syscall.PtraceCont(pid, 0)
				continue
			case 0:
				var regs syscall.PtraceRegs
				if err := syscall.PtraceGetRegs(pid, &regs); err == nil && m != nil && m.hit != nil {
					a := regs.Rip - 1
					if i, ok := byAddr[a]; ok && textOrg[a-textLo] != 0xcc { // ftrace's int3, not the program's
						// always restore: the mm bookkeeping may be wrong for
						// an odd clone, and an int3 left in place would loop
						f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", pid), os.O_RDWR, 0)
						if err == nil {
							_, err = f.WriteAt(textOrg[a-textLo:a-textLo+1], int64(a))
							f.Close()
						}
						if err != nil {
							fmt.Fprintln(os.Stderr, "ftrace: restore", pid, err)
						}
						if !m.hit[a] {
							m.hit[a] = true
							fmt.Fprintf(bw, "%d %d %d %s %s\n", seq, m.image, pid, m.role, funcs[i].name)
							seq++
						}
						regs.Rip = a
						syscall.PtraceSetRegs(pid, &regs)
						syscall.PtraceCont(pid, 0)
						continue
					}
				}
				syscall.PtraceCont(pid, int(sig))
				continue
			default:
				syscall.PtraceCont(pid, 0)
				continue
			}
		}
		syscall.PtraceCont(pid, int(sig))
	}
}

func sameVM(a, b int) bool {
	const KCMP_VM = 1
	r, _, e := syscall.Syscall6(312 /* kcmp */, uintptr(a), uintptr(b), KCMP_VM, 0, 0, 0)
	return e == 0 && r == 0
}

func role(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	a := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(a) > 1 {
		return strings.ReplaceAll(a[1], " ", "_")
	}
	return "?"
}

func isBin(pid int) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 1<<16)
	if _, err := f.ReadAt(b, int64(textLo)); err != nil {
		return false
	}
	return bytes.Equal(b, textOrg[:len(b)])
}

func load(path string) {
	f, err := elf.Open(path)
	if err != nil {
		fatal("%v", err)
	}
	text := f.Section(".text")
	textLo, textHi = text.Addr, text.Addr+text.Size
	if text == nil {
		fatal("%s: no .text", path)
	}
	textOrg, err = text.Data()
	if err != nil {
		fatal("%s: reading .text: %v", path, err)
	}
	syms, err := f.Symbols()
	if err != nil {
		fatal("%s: symbols: %v", path, err)
	}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value < textLo || s.Value >= textHi || s.Size == 0 {
			continue
		}
		if strings.HasPrefix(s.Name, "go:") || s.Name == "runtime.text" || s.Name == "runtime.etext" {
			continue
		}
		if _, ok := byAddr[s.Value]; ok {
			continue
		}
		byAddr[s.Value] = len(funcs)
		funcs = append(funcs, fn{s.Value, s.Name})
	}
	sort.Slice(funcs, func(i, j int) bool { return funcs[i].addr < funcs[j].addr })
	for i, f := range funcs {
		byAddr[f.addr] = i
	}
	textArm = append([]byte(nil), textOrg...)
	for _, f := range funcs {
		textArm[f.addr-textLo] = 0xcc
	}
	if verbose {
		fmt.Fprintf(os.Stderr, "ftrace: %d functions in .text %#x-%#x\n", len(funcs), textLo, textHi)
	}
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ftrace: "+format+"\n", args...)
	os.Exit(1)
}

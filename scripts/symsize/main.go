// Command symsize prints what each Go module (and the C code) costs in a
// hako binary, as a markdown table, from the ELF symbol table: the
// bytes of each symbol in the sections that are in the file (code,
// read-only data, data; not bss), grouped by package and then by module
// (the binary's build info). The unattributed parts (.gopclntab, the
// per-function line tables; go:func.* funcdata) are shared out in
// proportion to each group's code. Standard library packages are grouped
// by their first path element ("std: crypto").
//
//	go build ... -o bin/hako ./cmd/hako   # unstripped: symsize needs the symbol table
//	go run ./scripts/symsize [-top 25] [-pkg] bin/hako
package main

import (
	"debug/buildinfo"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	top := flag.Int("top", 25, "rows to print; the rest are summed as \"other\"")
	byPkg := flag.Bool("pkg", false, "group by package instead of module")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: symsize [-top N] [-pkg] BINARY (an unstripped Go ELF binary)")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *top, *byPkg); err != nil {
		fmt.Fprintln(os.Stderr, "symsize:", err)
		os.Exit(1)
	}
}

type group struct {
	name       string
	code, data int64 // data: rodata and data sections
	shared     int64 // share of pclntab and funcdata
}

func (g *group) total() int64 { return g.code + g.data + g.shared }

func run(path string, top int, byPkg bool) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return fmt.Errorf("%s: %w (symsize needs an unstripped binary)", path, err)
	}
	var modules []string
	mainMod := ""
	if bi, err := buildinfo.ReadFile(path); err == nil {
		mainMod = bi.Main.Path
		modules = append(modules, bi.Main.Path)
		for _, d := range bi.Deps {
			p := d.Path
			if d.Replace != nil && d.Replace.Path != "" && !strings.HasPrefix(d.Replace.Path, ".") {
				p = d.Replace.Path
			}
			modules = append(modules, p, d.Path)
		}
	}
	// Longest module path first, so that a nested module wins.
	sort.Slice(modules, func(i, j int) bool { return len(modules[i]) > len(modules[j]) })

	groups := map[string]*group{}
	get := func(name string) *group {
		g := groups[name]
		if g == nil {
			g = &group{name: name}
			groups[name] = g
		}
		return g
	}
	var fileBytes, unattributed int64
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_ALLOC != 0 {
			fileBytes += int64(s.Size)
		}
	}
	var codeTotal int64
	for _, s := range syms {
		if int(s.Section) <= 0 || int(s.Section) >= len(f.Sections) || s.Size == 0 {
			continue
		}
		sec := f.Sections[s.Section]
		if sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		size := int64(s.Size)
		if sec.Name == ".gopclntab" || strings.HasPrefix(s.Name, "go:func.") || s.Name == "runtime.pclntab" {
			unattributed += size
			continue
		}
		g := get(groupOf(s.Name, modules, mainMod, byPkg))
		if sec.Flags&elf.SHF_EXECINSTR != 0 {
			g.code += size
			if g.name != cGroup {
				codeTotal += size
			}
		} else {
			g.data += size
		}
	}
	// .gopclntab has one symbol or none, depending on the linker.
	if s := f.Section(".gopclntab"); s != nil && unattributed < int64(s.Size) {
		unattributed = int64(s.Size) + unattributed
	}
	var list []*group
	var attributed int64
	for _, g := range groups {
		if codeTotal > 0 && g.name != cGroup {
			g.shared = unattributed * g.code / codeTotal
		}
		attributed += g.total()
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].total() > list[j].total() })

	what := "module"
	if byPkg {
		what = "package"
	}
	fmt.Printf("%s: %.1f MB in the file's loaded sections, %.1f MB attributed to symbols (the rest: ELF headers, symbol-less data, alignment)\n\n",
		path, mb(fileBytes), mb(attributed))
	fmt.Printf("| %s | code KB | data KB | line tables KB | total KB | share |\n|---|---:|---:|---:|---:|---:|\n", what)
	var other group
	for i, g := range list {
		if i >= top {
			other.code += g.code
			other.data += g.data
			other.shared += g.shared
			continue
		}
		row(g, attributed)
	}
	if other.total() > 0 {
		other.name = fmt.Sprintf("other (%d)", len(list)-top)
		row(&other, attributed)
	}
	return nil
}

func row(g *group, all int64) {
	fmt.Printf("| %s | %d | %d | %d | %d | %.1f%% |\n", g.name, g.code/1024, g.data/1024, g.shared/1024,
		g.total()/1024, 100*float64(g.total())/float64(all))
}

func mb(n int64) float64 { return float64(n) / 1e6 }

// groupOf names the group of a symbol: its module, "std: first/element",
// or "C (libc, libseccomp, cgo)" for symbols with no Go package.
func groupOf(sym string, modules []string, mainMod string, byPkg bool) string {
	pkg := packageOf(sym)
	if pkg == "" {
		return cGroup
	}
	for _, m := range modules {
		if pkg == m || strings.HasPrefix(pkg, m+"/") {
			if byPkg || m == mainMod {
				return pkg
			}
			return m
		}
	}
	if pkg == "main" {
		return mainMod + "/cmd/hako"
	}
	if pkg == "go" || pkg == "type" {
		return "runtime type data (type:*, go:*)"
	}
	if byPkg {
		return "std: " + pkg
	}
	first, _, _ := strings.Cut(pkg, "/")
	if first == "vendor" {
		return "std: vendor (golang.org/x in std)"
	}
	return "std: " + first
}

const cGroup = "C (libc: musl or glibc, libseccomp, cgo glue)"

// packageOf returns the Go package of a symbol name, "" for C symbols.
func packageOf(sym string) string {
	for _, p := range []string{"type:", "go:itab.", "go:info.", "go:string.", "go:cuinfo.", "gclocals·"} {
		if strings.HasPrefix(sym, p) {
			if p == "go:string." || p == "gclocals·" {
				return "go"
			}
			sym = strings.TrimPrefix(sym, p)
			sym = strings.TrimLeft(sym, "*")
			for _, q := range []string{".eq.", ".hash.", ".namedata.", ".gcmask."} {
				sym = strings.TrimLeft(strings.TrimPrefix(sym, q), "*")
			}
			if sym == "" || !strings.ContainsAny(sym, "./") {
				return "type"
			}
		}
	}
	if strings.HasPrefix(sym, "go:") {
		return "go"
	}
	// The package ends at the first dot after the last slash, looking only
	// before any type parameters, receivers or itab interface.
	head := sym
	if i := strings.IndexAny(head, "[("); i >= 0 {
		head = head[:i]
	}
	if i := strings.IndexByte(head, ','); i >= 0 {
		head = head[:i] // an itab: the concrete type's package
	}
	slash := strings.LastIndex(head, "/")
	dot := strings.Index(head[slash+1:], ".")
	if dot < 0 {
		if slash < 0 {
			return "" // a C symbol: no package
		}
		return head
	}
	pkg := head[:slash+1+dot]
	if strings.ContainsAny(pkg, " ") {
		return ""
	}
	return pkg
}

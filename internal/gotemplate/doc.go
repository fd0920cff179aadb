// Package gotemplate is Go's text/template (Go 1.26.8) without method
// calls: a template reads struct fields, map keys and functions, and
// {{.Name}} never calls a method Name.
//
// text/template looks methods up by name at run time
// (reflect.Value.MethodByName). When such a call is reachable the linker
// stops removing unused methods and keeps every exported method of every
// type that can reach an interface: 4 MB of hako's 24 MB. hako's templates
// (--format, the AppArmor profile) only read fields and maps, so this copy
// drops the method lookup (exec.go, evalField) and nothing else; parsing is
// text/template/parse's. See NOTICE for the files and their origin.
package gotemplate
